"""Fan-out (one prompt to several models at once) and synthesis (one answer from their answers).

Every model call goes through ``chat.proxy.inprocess.complete(source="orchestrator")``,
so limits, credits and request logs hold as for /v1.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from django.conf import settings

from accounts.principals import Principal
from chat.proxy import inprocess as chat
from chat.proxy.errors import ProxyError
from gateway_project.errors import ApiError
from gateway_project.sse import error_data
from models_catalog.selectors import ModelInfo

log = logging.getLogger(__name__)

SYNTH_PROMPT = (
    "You are given a question and several answers to it from different AI models. Write one answer that keeps "
    "what they agree on and what is correct, resolves their disagreements, and drops their mistakes. Answer the "
    "question directly; do not mention the models."
)


def fanout_models(*, usable: list[ModelInfo], requested: list[str]) -> list[ModelInfo]:
    """Return the models to ask: the requested ones in order, else the caller's first few (a setting)."""
    if not requested:
        return usable[: settings.GATEWAY.orchestrator_default_models]
    by_id = {m.model_id: m for m in usable}
    return [by_id[m] for m in requested]


def _usage(response: dict) -> dict:
    usage = response.get("usage") or {}
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    return {"promptTokens": prompt, "completionTokens": completion,
            "totalTokens": int(usage.get("total_tokens") or prompt + completion)}


def _content(response: dict) -> str:
    choice = (response.get("choices") or [{}])[0]
    return str((choice.get("message") or {}).get("content") or "")


async def _ask(*, principal: Principal, prompt: str, model: ModelInfo) -> dict:
    """Return one model's ``model_response``: its answer, or its error with the HTTP status it failed with."""
    started = time.monotonic()
    result = {"modelId": model.model_id, "name": model.name}
    try:
        body = {"model": model.model_id, "messages": [{"role": "user", "content": prompt}]}
        response = await chat.complete(principal=principal, body=body, source="orchestrator")
    except ProxyError as error:
        return {**result, "content": "", "latencyMs": int((time.monotonic() - started) * 1000), "status": "error",
                "error": error.message, "httpStatus": error.status, "usage": _usage({})}
    return {**result, "content": _content(response), "latencyMs": int((time.monotonic() - started) * 1000),
            "status": "success", "httpStatus": 200, "usage": _usage(response)}


async def orchestrate(*, principal: Principal, prompt: str, models: list[ModelInfo]) -> AsyncIterator[tuple[str, dict]]:
    """Ask every model at once; yield ``model_response`` as each finishes, then ``all_done``.

    Closing or cancelling the iterator (the client went away) cancels the calls still running.
    """
    started = time.monotonic()
    tasks = [asyncio.ensure_future(_ask(principal=principal, prompt=prompt, model=m)) for m in models]
    successes = 0
    try:
        for finished in asyncio.as_completed(tasks):
            result = await finished
            successes += result["status"] == "success"
            yield "model_response", result
    finally:
        pending = [t for t in tasks if not t.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    yield "all_done", {"successCount": successes, "totalModels": len(models),
                       "totalMs": int((time.monotonic() - started) * 1000)}


def synthesis_models(*, usable: list[ModelInfo], requested: str | None, responses: list[dict]) -> list[ModelInfo]:
    """Return the models to try for a synthesis: the requested one, else those that answered, then the caller's."""
    by_id = {m.model_id: m for m in usable}
    order = [requested] if requested else [r.get("modelId") for r in responses]
    order += [m.model_id for m in usable]
    chosen = list(dict.fromkeys(m for m in order if m in by_id))
    return [by_id[m] for m in chosen[: settings.GATEWAY.synthesis_max_models]]


def _synthesis_messages(prompt: str, responses: list[dict]) -> list[dict]:
    parts = [f"Question:\n{prompt}"]
    for i, response in enumerate(responses, start=1):
        parts.append(f"Answer {i} ({response.get('name') or response.get('modelId') or 'a model'}):\n"
                     f"{response['content']}")
    return [{"role": "system", "content": SYNTH_PROMPT}, {"role": "user", "content": "\n\n".join(parts)}]


async def synthesize(*, principal: Principal, prompt: str, responses: list[dict], models: list[ModelInfo]) -> dict:
    """Return ``{content, modelId, modelName}`` from the first of ``models`` that answers.

    Raise ``ApiError`` with the upstream's status when none can.
    """
    if not models:
        raise ApiError("You have no model to write the synthesis with; enable one in My models.", status_code=400,
                       extra={"param": "model"})
    messages = _synthesis_messages(prompt, responses)
    last: ProxyError | None = None
    for model in models:
        try:
            response = await chat.complete(principal=principal, source="orchestrator",
                                           body={"model": model.model_id, "messages": messages})
        except ProxyError as error:
            last = error
            if not chat.worth_next_model(error):
                break
            continue
        return {"content": _content(response), "modelId": model.model_id, "modelName": model.name}
    raise ApiError(f"The synthesis failed: {last.message}", status_code=last.status)


async def synthesize_stream(*, principal: Principal, prompt: str, responses: list[dict],
                            models: list[ModelInfo]) -> AsyncIterator[tuple[str, object]]:
    """Yield the synthesis as ``token`` deltas, then ``done`` ``{modelId, modelName}`` or ``error`` ``{error, status}``.

    The models are tried in turn while none has sent a token (``worth_next_model`` decides); a failure after
    the first token ends the stream with ``error``. Closing the iterator cancels the upstream call.
    """
    if not models:
        yield "error", error_data("You have no model to write the synthesis with; enable one in My models.", 400)
        return
    messages = _synthesis_messages(prompt, responses)
    last: ProxyError | None = None
    for model in models:
        started = False
        chunks = chat.stream(principal=principal, source="orchestrator",
                             body={"model": model.model_id, "messages": messages})
        try:
            async for chunk in chunks:
                if "error" in chunk:
                    error = chunk["error"] if isinstance(chunk["error"], dict) else {}
                    yield "error", error_data(f"The synthesis failed: {error.get('message') or 'upstream error'}",
                                              502, str(error.get("code") or ""))
                    return
                for choice in chunk.get("choices") or []:
                    delta = (choice.get("delta") or {}).get("content")
                    if delta:
                        started = True
                        yield "token", delta
        except ProxyError as error:
            last = error
            if started or not chat.worth_next_model(error):
                break
            continue
        finally:
            await chunks.aclose()
        yield "done", {"modelId": model.model_id, "modelName": model.name}
        return
    yield "error", error_data(f"The synthesis failed: {last.message}", last.status, last.code or "")
