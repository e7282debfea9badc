"""The control API under ``/_sim``: tests and demos reset, configure and inspect the simulator."""

from __future__ import annotations

import json
from typing import Protocol

from simulator.replies import Send, error, send_json
from simulator.state import SimState


class HoldsState(Protocol):
    state: SimState


def _configure(state: SimState, data: dict) -> None:
    if "models" in data:
        state.models = data["models"]
    if "remove_models" in data:
        gone = set(data["remove_models"])
        state.models = [m for m in state.models if m["id"] not in gone]
    if "add_models" in data:
        state.models.extend(data["add_models"])
    if "models_fault" in data:
        state.models_fault = data["models_fault"]
    if "model_faults" in data:
        state.model_faults = dict(data["model_faults"])
    if "gone_models" in data:
        state.gone_models = set(data["gone_models"])
    if "revoked_keys" in data:
        state.revoked_keys = set(data["revoked_keys"])
    if "accounts" in data:
        state.accounts = dict(data["accounts"])
    if "limits" in data:
        state.limits = dict(data["limits"])
        state.windows.clear()
    if "account_limits" in data:
        state.account_limits = {a: dict(v) for a, v in data["account_limits"].items()}
        state.windows.clear()
    if "paid_accounts" in data:
        state.paid_accounts = set(data["paid_accounts"])
    if "record_requests" in data:
        state.record_requests = bool(data["record_requests"])


async def handle(sim: HoldsState, method: str, path: str, body: bytes, send: Send) -> None:
    """Answer ``POST /_sim/reset``, ``POST /_sim/config``, ``GET /_sim/state``, ``GET /_sim/requests``
    and ``GET /_sim/paths`` (method, path and header names of every request that carried a key)."""
    if path == "/_sim/reset" and method == "POST":
        sim.state = SimState()
        await send_json(send, 200, {"reset": True})
    elif path == "/_sim/config" and method == "POST":
        _configure(sim.state, json.loads(body or b"{}"))
        await send_json(send, 200, {"ok": True})
    elif path == "/_sim/state" and method == "GET":
        await send_json(send, 200, sim.state.snapshot())
    elif path == "/_sim/requests" and method == "GET":
        await send_json(send, 200, {"requests": sim.state.requests})
    elif path == "/_sim/paths" and method == "GET":
        await send_json(send, 200, {"paths": sim.state.paths})
    else:
        raise error(404, f"No control route {method} {path}")
