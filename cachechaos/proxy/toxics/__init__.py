"""Toxics: one module per type behind the `Toxic` interface, looked up in `registry`."""

from .base import Chunk, Stub, Toxic, parse_attributes
from .registry import TOXIC_TYPES, toxic_type

__all__ = ["TOXIC_TYPES", "Chunk", "Stub", "Toxic", "parse_attributes", "toxic_type"]
