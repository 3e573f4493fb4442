"""The client-observed history: what every load process saw, operation by operation."""

from cachechaos.history.format import Layer, Op, Record, read_history, read_history_file
from cachechaos.history.writer import HistoryWriter

__all__ = ["HistoryWriter", "Layer", "Op", "Record", "read_history", "read_history_file"]
