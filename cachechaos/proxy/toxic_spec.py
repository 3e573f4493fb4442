"""A toxic as the API sees it: name, type, stream, toxicity and its settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .toxics import Toxic

STREAMS = ("upstream", "downstream")


@dataclass
class ToxicSpec:
    name: str
    type: str
    stream: str
    toxicity: float
    toxic: Toxic

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": dict(self.toxic.attributes),
        }
