"""Transition alias: atomic files moved to `cachechaos.store.files`."""

from cachechaos.store.files import read_json, write_json, write_text_atomically

__all__ = ["read_json", "write_json", "write_text_atomically"]
