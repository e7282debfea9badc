"""Faults chosen per request (see ``simulator.app``): which one plays, and the error each one raises."""

from __future__ import annotations

import time

from simulator.replies import error
from simulator.state import SimState

_SIMPLE = {
    "400": (400, "Bad request from the provider"),
    "401": (401, "User not found."),
    "402": (402, "Insufficient credits"),
    "404": (404, "No endpoints found for {model}."),
    "408": (408, "Request timed out"),
    "500": (500, "Internal Server Error"),
    "502": (502, "Provider returned error"),
    "503": (503, "No provider available"),
}


def fault_for(state: SimState, body: dict, model: str) -> str | None:
    """Return the fault to play for ``model``; with ``sim.times`` and ``sim.id`` only the first N times."""
    sim = body.get("sim") if isinstance(body.get("sim"), dict) else {}
    faults = sim.get("faults") or {}
    fault = faults.get(model) or sim.get("fault")
    if fault and sim.get("times") is not None:
        counter = f"{sim.get('id', '')}:{model}"
        seen = state.fault_hits.get(counter, 0)
        if seen >= int(sim["times"]):
            return None
        state.fault_hits[counter] = seen + 1
    return fault or state.model_faults.get(model) or state.model_faults.get("*")


def fault_arg(fault: str, default: float) -> float:
    """Return the number after ``NAME:`` in ``fault``, or ``default``."""
    _, _, arg = fault.partition(":")
    try:
        return float(arg) if arg else default
    except ValueError:
        return default


def raise_fault(fault: str, model: str) -> None:
    """Raise the error reply ``fault`` stands for; return for the faults that shape a success instead."""
    now_ms = int(time.time() * 1000)
    if fault == "429_minute":
        headers = {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(now_ms + 60_000)}
        raise error(429, "Rate limit exceeded: free-models-per-min", {"headers": headers}, headers)
    if fault == "429_day":
        headers = {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(now_ms + 86_400_000)}
        raise error(429, "Rate limit exceeded: free-models-per-day", {"headers": headers}, headers)
    if fault.startswith("429_provider"):
        seconds = fault_arg(fault, 1.0)
        raise error(
            429,
            "Provider returned error",
            {"raw": f"{model} is temporarily rate-limited upstream", "provider_name": "SimProvider",
             "retry_after_seconds": seconds},
            {"Retry-After": str(int(seconds) if seconds == int(seconds) else seconds)},
        )
    if fault in _SIMPLE:
        code, message = _SIMPLE[fault]
        metadata = {"raw": "upstream exploded", "provider_name": "SimProvider"} if code == 502 else None
        raise error(code, message.format(model=model), metadata)
