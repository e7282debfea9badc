"""The agent: a ReAct loop with OpenAI tool calling, run through the gateway's in-process client ``chat.proxy.inprocess``.

Every model call goes through ``chat.proxy.inprocess.complete(source="agent")``, so
the caller's limits, credits and request log hold for the agent as for /v1.
The loop moves to the next tool-capable model when one fails (rate limited,
gone, upstream error) and keeps the conversation so far, tool results included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from django.conf import settings

from accounts.principals import Principal
from agent import tools
from chat.proxy import inprocess as chat
from chat.proxy.errors import ProxyError
from gateway_project.sse import error_data
from models_catalog import health as model_health
from models_catalog.selectors import ModelInfo

SYSTEM_PROMPT = (
    "You are the assistant of an LLM API gateway. You answer the user's questions about the gateway: which "
    "models they can use (free or paid, tool support, health) and their own usage (requests, tokens, cost). "
    "Use the tools to look facts up rather than guessing, then answer briefly in plain language."
)


@dataclass(frozen=True)
class AgentPlan:
    """What to ask and whom: the validated question and the models to try, in order."""

    question: str
    history: list[dict] = field(default_factory=list)
    models: list[ModelInfo] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (model id, reason) known before any call


def agent_plan(*, question: str, history: list[dict], usable: list[ModelInfo], requested: str | None) -> AgentPlan:
    """Order the caller's tool-capable models, the requested one first, and note a requested one without tools."""
    skipped: list[tuple[str, str]] = []
    ordered = list(usable)
    if requested:
        first = next(m for m in usable if m.model_id == requested)
        ordered = [first, *(m for m in usable if m.model_id != requested)]
        if not first.supports_tools:
            skipped.append((requested, "does not support tool calling"))
    candidates = [m for m in ordered if m.supports_tools][: settings.GATEWAY.agent_max_models]
    return AgentPlan(question=question, history=history, models=candidates, skipped=skipped)


async def agent_answer(*, principal: Principal, plan: AgentPlan) -> AsyncIterator[tuple[str, dict]]:
    """Yield the agent's events: ``status`` per model tried or skipped, ``tool_step`` per tool call, then
    ``done`` ``{reply, toolSteps, modelUsed}`` or ``error`` ``{error, status}``."""
    for model_id, reason in plan.skipped:
        yield "status", {"type": "skipped", "model": model_id, "reason": reason}
    if not plan.models:
        yield "error", error_data("None of your models supports tool calling; enable one in My models.", 503)
        return
    messages: list[dict] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        *plan.history,
        {"role": "user", "content": plan.question},
    ]
    steps: list[dict] = []
    last_error: ProxyError | None = None
    models = list(plan.models)
    # Live model health: a model the upstream is rate limiting right now is not worth a try,
    # unless nothing else is left.
    figures = await model_health.aread([m.model_id for m in models])
    limited = [m for m in models if figures[m.model_id].rate_limited]
    if len(limited) < len(models):
        for model in limited:
            until = datetime.fromtimestamp(figures[model.model_id].rate_limited_until, tz=UTC)
            yield "status", {"type": "skipped", "model": model.model_id,
                             "reason": f"rate limited upstream until {until:%H:%M:%S} UTC"}
        models = [m for m in models if m not in limited]
    total = len(models)
    for attempt, model in enumerate(models, start=1):
        yield "status", {"type": "trying", "model": model.model_id, "attempt": attempt, "total": total}
        try:
            async for name, data in _converse(principal=principal, model_id=model.model_id, messages=messages,
                                              steps=steps):
                if name == "reply":
                    yield "done", {"reply": data["content"], "toolSteps": steps, "modelUsed": data["model"]}
                    return
                yield name, data
        except ProxyError as error:
            last_error = error
            if not chat.worth_next_model(error):
                yield "error", error_data(error.message, error.status, error.code or "")
                return
            yield "status", {"type": "skipped", "model": model.model_id, "reason": error.message}
    yield "error", error_data(f"Every model failed; the last said: {last_error.message}", last_error.status,
                              last_error.code or "")


async def _converse(*, principal: Principal, model_id: str, messages: list[dict],
                    steps: list[dict]) -> AsyncIterator[tuple[str, dict]]:
    """Run the loop on one model, appending to ``messages`` and ``steps``; yield ``tool_step``s, then ``reply``.

    ``messages`` only ever gains complete turns (an assistant's tool calls together with their results), so
    the next model can pick up where a failed one stopped.
    """
    max_rounds = settings.GATEWAY.agent_max_tool_rounds  # tool-calling turns before a plain answer is due
    for round_no in range(max_rounds + 1):
        body = {"model": model_id, "messages": messages, "tools": tools.TOOLS,
                "tool_choice": "auto" if round_no < max_rounds else "none"}
        response = await chat.complete(principal=principal, body=body, source="agent")
        choice = (response.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        calls = message.get("tool_calls") or []
        if not calls:
            yield "reply", {"content": str(message.get("content") or ""), "model": response.get("model") or model_id}
            return
        turn: list[dict] = [{"role": "assistant", "content": message.get("content") or "", "tool_calls": calls}]
        for call in calls:
            function = call.get("function") or {}
            name = str(function.get("name") or "")
            args = tools.parse_arguments(function.get("arguments"))
            result = await tools.run_tool(principal=principal, name=name, args=args)
            step = {"name": name, "arguments": args, "result": tools.short(result)}
            steps.append(step)
            turn.append({"role": "tool", "tool_call_id": call.get("id") or "",
                         "content": orjson.dumps(result).decode()})
            yield "tool_step", step
        messages.extend(turn)
