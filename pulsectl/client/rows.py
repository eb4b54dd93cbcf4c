"""Stream rows decoded for display: ``TailRow``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pulse.v1 import common_pb2


@dataclass(frozen=True, slots=True)
class TailRow:
    """One row of a stream, as a tail or a query delivers it.

    Attributes:
        stream: the stream's name.
        seq: the row's sequence number in its stream.
        values: its columns by name (JSON values; a row whose JSON is not an object
            has it under ``_value``, one that is not JSON under ``_raw``).
    """

    stream: str
    seq: int
    values: dict[str, Any]

    @classmethod
    def of(cls, row: common_pb2.Row) -> TailRow:
        """Decode a ``pulse.v1.Row`` (its ``json`` is an object of column values)."""
        values: Any
        try:
            values = json.loads(row.json)
        except ValueError:
            values = {"_raw": row.json}
        if not isinstance(values, dict):
            values = {"_value": values}
        return cls(row.stream, row.seq, values)
