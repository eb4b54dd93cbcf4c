"""Shared shapes for the benchmarks: a measured figure and a median helper."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass
class Figure:
    """One measured figure: ``value`` in ``unit``, compared against ``target``.

    ``better`` is "lower" or "higher": which side of the target passes.
    """

    name: str
    value: float
    unit: str
    target: float
    better: str = "lower"
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.value <= self.target if self.better == "lower" else self.value >= self.target

    def line(self) -> str:
        sign = "<=" if self.better == "lower" else ">="
        verdict = "ok" if self.ok else "MISSED"
        extra = f"  ({self.detail})" if self.detail else ""
        return (
            f"{self.name:<48} {self.value:>12.2f} {self.unit:<7} target {sign} "
            f"{self.target:g} {self.unit:<7} {verdict}{extra}"
        )


def median(values: list[float]) -> float:
    """The median of ``values`` (which must not be empty)."""
    return statistics.median(values)


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0-100) of ``values``, nearest-rank."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]
