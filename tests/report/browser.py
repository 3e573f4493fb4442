"""Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe).

No extra Python package and no TCP port: Chromium reads commands on fd 3 and writes replies and
events on fd 4, NUL-separated JSON. Each page is opened in its own target with console, log and
network events recorded, so a test can assert that a report raised no error and asked no host
for anything. The browser is started in its own process group and stopped by that group's id.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INSTALL_HINT = "headless Chromium is needed for the report tests: apt-get install -y chromium"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    env = os.environ.get("CACHECHAOS_CHROMIUM")
    if env:
        return env if os.access(env, os.X_OK) else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class CDPError(RuntimeError):
    pass


@dataclass
class PageLog:
    url: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)


class Chromium:
    def __init__(self, executable: str, width: int = 1366, height: int = 900, loopback: bool = False) -> None:
        """`loopback`: pages may ask 127.0.0.1 (a local server under test); every other host still fails."""
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="cachechaos-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # Moved above 10 so the dup2 onto 3 and 4 in the child can never clobber one with the other.
        high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 10)
        high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_child_r)
        os.close(from_child_w)

        def wire_pipes() -> None:
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        args = [
            executable, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
            "--disable-dev-shm-usage", "--allow-file-access-from-files",
            # Any host name fails to resolve: a report that tried to load something would fail loudly.
            "--host-resolver-rules=MAP * ~NOTFOUND" + (", EXCLUDE 127.0.0.1" if loopback else ""),
            f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
            "--remote-debugging-pipe", "about:blank",
        ]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     # preexec_fn runs before close_fds, which keeps pass_fds: the child ends with 0-4 only.
                                     pass_fds=(3, 4), preexec_fn=wire_pipes, close_fds=True,
                                     start_new_session=True)
        os.close(high_r)
        os.close(high_w)
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read_loop, name="cdp-reader", daemon=True)
        self._reader.start()
        self._stderr: list[bytes] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.version = self.call("Browser.getVersion", timeout=30)

    # -- the pipe ----------------------------------------------------------------------------------------

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if len(self._stderr) < 200:
                self._stderr.append(line)

    def _read_loop(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_child, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._cond.notify_all()
                return
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            with self._cond:
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._replies[message["id"]] = message
                    else:
                        self._events.append(message)
                self._cond.notify_all()

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 20.0) -> dict[str, Any]:
        with self._cond:
            self._next_id += 1
            call_id = self._next_id
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while call_id not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise CDPError(f"{method}: no reply (chromium {'exited' if self.proc.poll() is not None else 'timed out'}; "
                                   f"stderr: {b''.join(self._stderr[-5:]).decode(errors='replace')})")
                self._cond.wait(left)
            reply = self._replies.pop(call_id)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def events(self, session: str, method: str | None = None) -> list[dict[str, Any]]:
        with self._cond:
            return [e for e in self._events if e.get("sessionId") == session and (method is None or e["method"] == method)]

    def wait_event(self, session: str, method: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for e in self._events:
                    if e.get("sessionId") == session and e["method"] == method:
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CDPError(f"no {method} within {timeout} s")
                self._cond.wait(left)

    # -- pages -------------------------------------------------------------------------------------------

    def open(self, path: Path, width: int | None = None, media: str | None = None) -> Page:
        """A report file, once its charts are drawn."""
        page = self.open_url(path.resolve().as_uri(), width, media)
        page.wait_for("document.body && document.body.dataset.chartsReady !== undefined")
        return page

    def open_url(self, url: str, width: int | None = None, media: str | None = None) -> Page:
        """Any page (a file, or a server on 127.0.0.1: host names never resolve), once loaded."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.call(f"{domain}.enable", session=session)
        self.call("Emulation.setDeviceMetricsOverride", {"width": width or self.width, "height": self.height,
                                                        "deviceScaleFactor": 1, "mobile": False}, session=session)
        if media:
            self.call("Emulation.setEmulatedMedia", {"media": media}, session=session)
        self.call("Page.navigate", {"url": url}, session=session)
        self.wait_event(session, "Page.loadEventFired")
        return Page(self, target, session, url)

    def close(self) -> None:
        """Browser.close, then the process group (everything chromium forked) by its id if it lingers."""
        with contextlib.suppress(CDPError, OSError):
            if self.proc.poll() is None:
                self.call("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        # Renderer and zygote children share the group; none may outlive the test session.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    def __init__(self, browser: Chromium, target: str, session: str, url: str) -> None:
        self.browser, self.target, self.session, self.url = browser, target, session, url

    def evaluate(self, expression: str) -> Any:
        result = self.browser.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                        "awaitPromise": True}, session=self.session)
        if "exceptionDetails" in result:
            raise CDPError(f"evaluate failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.evaluate(f"!!({expression})"):
            if time.monotonic() > deadline:
                raise CDPError(f"timed out waiting for {expression}")
            time.sleep(0.05)

    def log(self) -> PageLog:
        out = PageLog(self.url)
        for e in self.browser.events(self.session):
            method, params = e["method"], e.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                out.console_errors.append(str(details.get("exception", {}).get("description") or details.get("text")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                out.console_errors.append(str(params["entry"].get("text")))
            elif method == "Network.requestWillBeSent":
                out.requests.append(params["request"]["url"])
            elif method == "Network.loadingFailed":
                out.failed_requests.append(str(params.get("errorText")))
        return out

    def screenshot(self, path: Path) -> None:
        metrics = self.browser.call("Page.getLayoutMetrics", session=self.session)
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 16000), "scale": 1}
        shot = self.browser.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip},
                                 session=self.session, timeout=60)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def pdf(self, path: Path) -> bytes:
        result = self.browser.call("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True},
                                   session=self.session, timeout=60)
        data = base64.b64decode(result["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return data

    def close(self) -> None:
        self.browser.call("Target.closeTarget", {"targetId": self.target})
