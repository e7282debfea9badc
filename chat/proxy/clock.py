"""Wall-clock time for limits, with an offset tests can move (daily windows, budgets)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

_offset = [0.0]


def now() -> float:
    return time.time() + _offset[0]


def utcnow() -> datetime:
    return datetime.fromtimestamp(now(), tz=UTC)


def advance(seconds: float) -> None:
    """Move the clock forward (tests only)."""
    _offset[0] += seconds


def reset() -> None:
    _offset[0] = 0.0
