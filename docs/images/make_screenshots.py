"""Regenerate the README's pictures from a real run: `make screenshots` (or run this file).

It runs the invalidation-delay row's wrong configuration (a 5 s pub/sub delay with L1 copies
that nothing bounds, ~35 s) in a terminal made by tmux, captures the live view during the fault
phase, and takes a picture of the run's HTML report with headless Chromium. The terminal capture
keeps its colours: rich turns the ANSI text into SVG, and Chromium turns that into PNG.

Needs tmux and chromium on PATH (Debian: `apt-get install tmux chromium`), and a working
`cachechaos run` (the embedded default). Writes docs/images/live-view.png and report.png.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.text import Text

HERE = Path(__file__).resolve().parent
COLUMNS, ROWS = 110, 34
RUN = ["cachechaos", "run", "experiments/invalidation-delay.yaml", "--variant", "events-only"]
SESSION = "cachechaos-screenshots"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def chromium_png(url: str, out: Path, width: int, height: int) -> None:
    subprocess.run([shutil.which("chromium") or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", f"--window-size={width},{height}", f"--screenshot={out}", url],
                   check=True, capture_output=True, timeout=120)


def capture_live_view(workdir: Path) -> str:
    """The pane's text with its colours, a few seconds into the fault phase; waits for the run's end."""
    done = workdir / "exit-code"
    command = f"cd {workdir} && {' '.join([sys.executable, '-m', 'cachechaos', *RUN[1:]])}; echo $? > {done}"
    tmux("new-session", "-d", "-s", SESSION, "-x", str(COLUMNS), "-y", str(ROWS), command)
    try:
        deadline = time.monotonic() + 300
        shot = ""
        while time.monotonic() < deadline and not done.exists():
            screen = tmux("capture-pane", "-p", "-t", SESSION)
            if "fault" in screen and "inject" in screen and not shot:
                time.sleep(6)  # some seconds of the fault, so the stale-read counter has moved
                shot = tmux("capture-pane", "-p", "-e", "-t", SESSION)
            time.sleep(0.5)
        if not shot:
            raise SystemExit("the run never reached its fault phase; see " + str(workdir))
        while time.monotonic() < deadline and not done.exists():
            time.sleep(0.5)
        return shot
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def ansi_to_png(ansi: str, out: Path, workdir: Path) -> None:
    console = Console(record=True, width=COLUMNS, file=io.StringIO(), force_terminal=True)
    console.print(Text.from_ansi(ansi.rstrip()))
    svg = workdir / "live-view.svg"
    text = console.export_svg(title="cachechaos run experiments/invalidation-delay.yaml --variant events-only")
    svg.write_text(text)
    # The picture's own size (rich writes it in the viewBox), so the PNG has no margins.
    size = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', text)
    assert size is not None, "rich's SVG has no viewBox"
    width, height = (round(float(v)) for v in size.groups())
    chromium_png(svg.as_uri(), out, width=width, height=height)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cachechaos-shots-") as tmp:
        workdir = Path(tmp)
        ansi = capture_live_view(workdir)
        ansi_to_png(ansi, HERE / "live-view.png", workdir)
        (report,) = workdir.glob("reports/*/index.html")
        chromium_png(report.as_uri(), HERE / "report.png", width=1280, height=1500)
    print(f"wrote {HERE / 'live-view.png'} and {HERE / 'report.png'}")


if __name__ == "__main__":
    main()
