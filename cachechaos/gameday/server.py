"""The game day's control API and dashboard: a small HTTP server on 127.0.0.1 in the game-day process.

Every request carries the game day's token (`Authorization: Bearer TOKEN`, or `?token=` for the
page a browser opens and for a scraper that cannot set headers); without it the answer is 401.
The standard library's threading server is enough: one operator's page polling once a second,
a few CLI calls and a Prometheus scrape.

    GET    /                 the dashboard (self-contained: no external asset)
    GET    /api/state        live figures, faults, timeline, criteria (?since=T: chart points after T)
    GET    /api/catalog      fault types and their parameters, for the page's form
    GET    /api/faults       active faults
    POST   /api/faults       {"fault": {"type": ..., ...}, "for_s": N}
    DELETE /api/faults/ID    heal one fault
    POST   /api/heal-all     heal everything
    POST   /api/notes        {"text": ...}
    POST   /api/traffic      {"rate_per_s": N}
    POST   /api/stop         stop the game day (the report follows)
    GET    /metrics          the live figures in Prometheus text
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cachechaos.gameday.control import CommandError, Commands
from cachechaos.gameday.figures import LiveFigures

MAX_BODY = 64 * 1024


def fault_catalog(target_cls: type) -> list[dict[str, Any]]:
    """The fault types the target can do (a compose project's container faults among them when it names
    chaos targets), with their parameters (name, required, default, description) from the fault models."""
    from cachechaos.faults import REGISTRY
    from cachechaos.runtime.target import missing_capabilities

    skip = {"type", "after_s", "dry"}
    out = []
    for name, cls in sorted(REGISTRY.items()):
        if missing_capabilities(target_cls, cls.requires):
            continue
        fields = [{"name": f, "required": info.is_required(),
                   "default": None if info.is_required() else repr(info.default),
                   "description": info.description or ""}
                  for f, info in cls.params_model.model_fields.items() if f not in skip]
        out.append({"type": name, "doc": (cls.params_model.__doc__ or "").strip().splitlines()[0:1],
                    "one_shot": cls.one_shot, "params": fields})
    return out


class ControlServer:
    """Serves a game day's figures and queues its commands; knows nothing else of it."""

    def __init__(self, run_id: str, commands: Commands, figures: LiveFigures, target_cls: type,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.run_id, self.commands, self.figures = run_id, commands, figures
        self.token = secrets.token_urlsafe(24)
        self.page = resources.files("cachechaos.gameday").joinpath("page.html").read_text(encoding="utf-8")
        self.catalog = fault_catalog(target_cls)
        handler = type("Handler", (_Handler,), {"control": self})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="gameday-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def authorized(self, header: str | None, query_token: str | None) -> bool:
        given = query_token or ""
        if header and header.startswith("Bearer "):
            given = header[len("Bearer "):].strip()
        return hmac.compare_digest(given.encode(), self.token.encode())


class _Handler(BaseHTTPRequestHandler):
    control: ControlServer
    server_version = "cachechaos-gameday"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a page polling every second would fill the log with nothing

    # -- plumbing ------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, default=str).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise CommandError(f"body over {MAX_BODY} bytes")
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
        except ValueError as exc:
            raise CommandError(f"the body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise CommandError("the body must be a JSON object")
        return data

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/favicon.ico":  # asked by every browser, without the token: nothing to give
            self._send(204, b"", "image/x-icon")
            return
        if not self.control.authorized(self.headers.get("Authorization"), (query.get("token") or [""])[0]):
            self._error(401, "the game day's token is needed (Authorization: Bearer TOKEN, or ?token=)")
            return
        try:
            self._dispatch(method, url.path.rstrip("/") or "/", query)
        except CommandError as exc:
            self._error(exc.status, str(exc))
        except TimeoutError:
            self._error(504, "the game day did not answer in time")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _dispatch(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        figures, submit = self.control.figures, self.control.commands.submit
        if method == "GET" and path == "/":
            self._send(200, self.control.page.encode(), "text/html; charset=utf-8")
        elif method == "GET" and path == "/metrics":
            self._send(200, figures.prometheus().encode(), "text/plain; version=0.0.4")
        elif method == "GET" and path == "/api/state":
            since = float((query.get("since") or ["0"])[0] or 0)
            self._json(200, {"run_id": self.control.run_id, **figures.snapshot(since)})
        elif method == "GET" and path == "/api/catalog":
            self._json(200, self.control.catalog)
        elif method == "GET" and path == "/api/faults":
            self._json(200, figures.snapshot()["faults"])
        elif method == "POST" and path == "/api/faults":
            body = self._body()
            fault, for_s = body.get("fault"), body.get("for_s")
            if not isinstance(fault, dict) or not isinstance(fault.get("type"), str):
                raise CommandError('give {"fault": {"type": TYPE, ...}}')
            if for_s is not None and not isinstance(for_s, int | float):
                raise CommandError("for_s must be a number of seconds")
            self._json(201, submit("add_fault", data=fault, for_s=for_s))
        elif method == "DELETE" and path.startswith("/api/faults/"):
            self._json(200, submit("heal", fault_id=path[len("/api/faults/"):]))
        elif method == "POST" and path == "/api/heal-all":
            self._json(200, submit("heal_all"))
        elif method == "POST" and path == "/api/notes":
            text = self._body().get("text")
            if not isinstance(text, str):
                raise CommandError('give {"text": "..."}')
            self._json(201, submit("note", text=text))
        elif method == "POST" and path == "/api/traffic":
            rate = self._body().get("rate_per_s")
            if not isinstance(rate, int | float) or isinstance(rate, bool):
                raise CommandError('give {"rate_per_s": N}')
            self._json(200, submit("rate", rate_per_s=float(rate)))
        elif method == "POST" and path == "/api/stop":
            self._json(202, submit("stop"))
        else:
            self._error(404, f"no {method} {path}")

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")
