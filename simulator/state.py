"""The simulator's mutable state: catalog, faults, keys, accounts' windows and what it has seen."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.catalog import default_models


@dataclass
class Window:
    """One account's request counts in its current minute and day."""

    minute_start: float = 0.0
    minute_count: int = 0
    day_start: float = 0.0
    day_count: int = 0
    refused: int = 0  # requests this account's limits refused with a 429


@dataclass
class SimState:
    models: list[dict] = field(default_factory=default_models)
    models_fault: int | None = None
    model_faults: dict[str, str] = field(default_factory=dict)
    gone_models: set[str] = field(default_factory=set)
    revoked_keys: set[str] = field(default_factory=set)
    accounts: dict[str, str] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)
    account_limits: dict[str, dict[str, int]] = field(default_factory=dict)  # per account, over ``limits``
    paid_accounts: set[str] = field(default_factory=set)  # accounts that bought credits (GET /key)
    windows: dict[str, Window] = field(default_factory=dict)
    fault_hits: dict[str, int] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    paths: list[dict] = field(default_factory=list)  # every request that carried a key: {method, path}
    record_requests: bool = True
    in_flight: int = 0
    disconnects: int = 0
    served: int = 0

    def snapshot(self) -> dict:
        """Return the counters ``GET /_sim/state`` shows."""
        return {
            "in_flight": self.in_flight,
            "disconnects": self.disconnects,
            "served": self.served,
            "recorded": len(self.requests),
            "accounts": {a: {"minute": w.minute_count, "day": w.day_count, "minute_reset": w.minute_start + 60,
                             "refused": w.refused}
                         for a, w in self.windows.items()},
        }
