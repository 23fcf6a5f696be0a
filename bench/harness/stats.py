"""Percentiles, one definition for every benchmark: nearest rank, so that a p99 is always a time
that was actually observed, never an interpolation between two."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The smallest value with at least q % of `values` at or below it."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))]


def summary(milliseconds: Sequence[float], digits: int = 2) -> dict:
    """p50, p99 and the maximum of latencies in milliseconds (None for each when there are none)."""
    if not milliseconds:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    return {"p50_ms": round(percentile(milliseconds, 50), digits),
            "p99_ms": round(percentile(milliseconds, 99), digits),
            "max_ms": round(max(milliseconds), digits)}
