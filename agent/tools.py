"""The agent's two tools: their OpenAI schemas, and running one call for a caller.

Arguments come from a model, so they are read leniently: anything missing or
of the wrong type falls back to the default rather than failing the answer.
"""

from __future__ import annotations

from typing import Any

import orjson
from asgiref.sync import sync_to_async

from accounts.principals import Principal
from chat import usage
from models_catalog import health as model_health
from models_catalog.selectors import ausable_models

MAX_MODELS_LISTED = 50
SHORT_RESULT_CHARS = 300

TOOLS: list[dict] = [
    {
        "type": "function",
        "function": {
            "name": "list_models",
            "description": (
                "List the models the user can call through this gateway, with whether each is free, whether it "
                "supports tool calling, its context length, prices (USD per million tokens) and recent health."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "free_only": {"type": "boolean", "description": "Only free models."},
                    "tools_only": {"type": "boolean", "description": "Only models that support tool calling."},
                },
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "usage_stats",
            "description": (
                "The user's own usage of the gateway: requests, errors, tokens and cost (USD), in total, per model "
                "and per source. Admins may ask for the whole gateway with scope 'gateway'."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "period": {"type": "string", "enum": ["day", "week", "month", "all"],
                               "description": "How far back to count; default month."},
                    "scope": {"type": "string", "enum": ["me", "gateway"],
                              "description": "'me' (default) or, for admins, 'gateway'."},
                },
            },
        },
    },
]


def parse_arguments(raw: Any) -> dict:
    """Return a tool call's arguments as a dict; a model's malformed JSON counts as no arguments."""
    if isinstance(raw, dict):
        return raw
    try:
        value = orjson.loads(raw or "{}")
    except (orjson.JSONDecodeError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


def _flag(args: dict, name: str) -> bool:
    value = args.get(name)
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def health_label(figures: model_health.ModelHealth) -> str:
    """One word for the model: rate_limited, healthy, degraded, failing, or unknown (no recent traffic)."""
    if figures.rate_limited:
        return "rate_limited"
    if not figures.samples or figures.success_rate is None:
        return "unknown"
    if figures.success_rate >= 0.8:
        return "healthy"
    return "degraded" if figures.success_rate >= 0.3 else "failing"


async def list_models(*, principal: Principal, args: dict) -> dict:
    """Return the caller's usable models with their free flag, tool support, prices and health."""
    models = await ausable_models(user_id=principal.user_id, allowed_models=principal.allowed_models)
    if _flag(args, "free_only"):
        models = [m for m in models if m.free]
    if _flag(args, "tools_only"):
        models = [m for m in models if m.supports_tools]
    shown = models[:MAX_MODELS_LISTED]
    figures = await model_health.aread([m.model_id for m in shown])
    million = 1_000_000
    return {
        "count": len(models),
        "models": [
            {
                "id": m.model_id,
                "name": m.name,
                "free": m.free,
                "supportsTools": m.supports_tools,
                "contextLength": m.context_length,
                "promptPricePerMillion": str((m.prompt_price * million).normalize()),
                "completionPricePerMillion": str((m.completion_price * million).normalize()),
                "health": health_label(figures[m.model_id]),
                "successRate": figures[m.model_id].success_rate,
                "p50LatencyMs": figures[m.model_id].p50_latency_ms,
                "rateLimitedUntil": figures[m.model_id].rate_limited_until if figures[m.model_id].rate_limited else None,
            }
            for m in shown
        ],
    }


async def usage_stats(*, principal: Principal, args: dict) -> dict:
    """Return the caller's usage over a period; gateway-wide figures for admins who ask for them."""
    period = args.get("period") if args.get("period") in ("day", "week", "month", "all") else "month"
    gateway_wide = args.get("scope") == "gateway" and principal.is_admin
    summary = await sync_to_async(usage.usage_summary, thread_sensitive=False)(
        user_id=None if gateway_wide else principal.user_id, period=period
    )
    summary["scope"] = "gateway" if gateway_wide else "me"
    if args.get("scope") == "gateway" and not gateway_wide:
        summary["note"] = "Gateway-wide figures are for admins; these are the user's own."
    return summary


_RUNNERS = {"list_models": list_models, "usage_stats": usage_stats}


async def run_tool(*, principal: Principal, name: str, args: dict) -> dict:
    """Run one tool call for ``principal``; an unknown tool answers with an error the model can read."""
    runner = _RUNNERS.get(name)
    if runner is None:
        return {"error": f"Unknown tool {name!r}; the tools are {', '.join(_RUNNERS)}."}
    return await runner(principal=principal, args=args)


def short(result: dict) -> str:
    """A one-line summary of a tool result (a few hundred characters at most), for the client's list of steps."""
    if "models" in result:
        text = f"{result['count']} models: " + ", ".join(m["id"] for m in result["models"])
    elif "requests" in result:
        text = (f"{result['requests']} requests ({result['errors']} failed), {result['totalTokens']} tokens, "
                f"${result['cost']} over {result['period']} ({result['scope']})")
    else:
        text = orjson.dumps(result).decode()
    return text if len(text) <= SHORT_RESULT_CHARS else text[: SHORT_RESULT_CHARS - 1] + "…"
