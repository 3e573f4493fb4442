"""What follows a run from outside: the console's lines, the live view, the run's reporters.

The runner publishes events and prints nothing (cachechaos.experiment.events); `attach` is the one
place a driver (the CLI's run and gate, the game day) connects them, so that every driver
prints, shows and reports a run the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape

from cachechaos.experiment.events import Progress, RunFinished, RunStarted, TrafficStopped
from cachechaos.experiment.live import LiveState, LiveView
from cachechaos.experiment.runner import ExperimentRun

STYLES = {"title": "bold", "note": "dim", "warning": "yellow"}


def print_progress(console: Console) -> Callable[[Progress], None]:
    def handler(event: Progress) -> None:
        style = STYLES.get(event.level)
        text = escape(event.text)
        console.print(f"[{style}]{text}[/]" if style else text, highlight=False)

    return handler


def write_reports(event: RunFinished) -> None:
    """junit.xml, summary.md and the HTML report of a finished run, from its summary."""
    from cachechaos.report.outputs import write_run_outputs

    write_run_outputs(event.run_dir, event.summary)


def attach(run: ExperimentRun, console: Console, live: bool = True, reports: bool = True) -> None:
    """The console's progress lines, the live view (a panel on a terminal, a line every 10 s
    elsewhere; none with `live=False`) and, first among the listeners of the run's end, the reporters."""
    if reports:  # first, so that later listeners of RunFinished find the reports written
        run.events.subscribe(RunFinished, write_reports)
    run.events.subscribe(Progress, print_progress(console))

    def open_view(event: RunStarted) -> None:
        view = LiveView(console, LiveState(event.experiment, event.duration_s, list(event.phases)), run.run_dir,
                        enabled=live)
        view.listen(run.events)
        view.__enter__()
        closers = [run.events.subscribe(TrafficStopped, lambda _: close()),
                   run.events.subscribe(RunFinished, lambda _: close())]

        def close() -> None:
            for unsubscribe in closers:
                unsubscribe()
            view.__exit__(None, None, None)

    run.events.subscribe(RunStarted, open_view)
