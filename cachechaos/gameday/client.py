"""The CLI's side of the control API: the state file's URL and token, one request per command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from cachechaos.errors import BadInput, EnvironmentFailure
from cachechaos.gameday.state import read_state

TIMEOUT_S = 75.0  # above the server's wait for the main thread (control.ANSWER_TIMEOUT_S)


class Refused(BadInput):
    """The game day answered with an error (a bad fault, an unknown id, ...)."""


class GameDayClient:
    def __init__(self, state_dir: Path) -> None:
        self.state = read_state(state_dir)
        self.url = self.state["url"]
        self._headers = {"Authorization": f"Bearer {self.state['token']}"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = httpx.request(method, self.url + path, json=body, headers=self._headers, timeout=TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise EnvironmentFailure(f"the game day at {self.url} did not answer ({type(exc).__name__}: {exc}); "
                                     f"is it still running (pid {self.state.get('pid')})?") from None
        data = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if response.status_code >= 400:
            message = data.get("error") if isinstance(data, dict) else None
            raise Refused(f"the game day refused: {message or response.text.strip() or response.status_code}")
        return data
