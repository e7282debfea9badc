"""Writes for playground conversations, and one turn of a conversation through the gateway.

A turn stores the user's message, sends the whole conversation through
``chat.proxy.inprocess`` with source ``playground`` (so limits, credits and logs
hold), and stores the answer. A turn the gateway refuses leaves no trace in
the conversation; a turn the user stops keeps what was written so far.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction

from accounts.principals import Principal
from chat.models import Conversation, Message
from chat.proxy import inprocess
from chat.proxy.errors import ProxyError
from gateway_project.errors import ApiError
from gateway_project.sse import error_data
from gateway_project.validators import unstorable
from models_catalog.selectors import user_model_ids

MAX_CONTENT = 32_000
MAX_SYSTEM_PROMPT = 8_000
TITLE_LENGTH = 60


_MARKUP = re.compile(r"(\*\*|__|~~|`+|^\s*(?:#{1,6}|>|[-*+]|\d+\.)\s+|\[([^\]]*)\]\([^)]*\))", re.MULTILINE)


def title_from(text: str) -> str:
    """Return a conversation title made from a first message: plain text (no Markdown marks), one line,
    at most 60 characters."""
    plain = _MARKUP.sub(lambda m: m.group(2) or "", text)
    line = re.sub(r"\s+", " ", plain).strip() or re.sub(r"\s+", " ", text).strip()
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


def _clean_temperature(temperature: float | None) -> float | None:
    if temperature is not None and not 0 <= temperature <= 2:
        raise ApiError("temperature must be between 0 and 2.", extra={"param": "temperature"})
    return temperature


def _clean_system_prompt(system_prompt: str) -> str:
    system_prompt = system_prompt.strip()
    if len(system_prompt) > MAX_SYSTEM_PROMPT:
        raise ApiError(f"systemPrompt is longer than {MAX_SYSTEM_PROMPT} characters.", extra={"param": "systemPrompt"})
    return system_prompt


@transaction.atomic
def conversation_create(
    *, user_id: int, model: str, title: str = "", system_prompt: str = "", temperature: float | None = None
) -> Conversation:
    """Start a conversation with one of the user's models (its model never changes afterwards)."""
    if model not in user_model_ids(user_id=user_id):
        raise ApiError(f"{model!r} is not one of your models; pick one from My models.", extra={"param": "model"})
    return Conversation.objects.create(
        user_id=user_id, model=model, title=title.strip()[:200], system_prompt=_clean_system_prompt(system_prompt),
        temperature=_clean_temperature(temperature),
    )


@transaction.atomic
def conversation_update(*, conversation: Conversation, system_prompt: str, temperature: float | None) -> Conversation:
    """Change a conversation's system prompt and temperature (the model stays)."""
    conversation.system_prompt = _clean_system_prompt(system_prompt)
    conversation.temperature = _clean_temperature(temperature)
    conversation.save(update_fields=["system_prompt", "temperature", "updated_at"])
    return conversation


@transaction.atomic
def conversation_delete(*, conversation: Conversation) -> None:
    """Delete a conversation and its messages."""
    conversation.delete()


# ---------------------------------------------------------------- one turn


@dataclass(frozen=True)
class Turn:
    conversation: Conversation
    user_message: Message
    body: dict
    fresh: bool = True  # the user message was stored for this turn (a refusal removes it)
    replaces: tuple[int, ...] = ()  # answers a regenerated turn replaces once it has a new one


def content_clean(content: str) -> str:
    """Return a message's text without surrounding blanks; raise ApiError (400) when it is empty or too long."""
    content = content.strip()
    if not content:
        raise ApiError("content must not be empty.", extra={"param": "content"})
    if len(content) > MAX_CONTENT:
        raise ApiError(f"content is longer than {MAX_CONTENT} characters.", extra={"param": "content"})
    if reason := unstorable(content):  # the SSE endpoints reach here without the request guard
        raise ApiError(f"content {reason}.", extra={"param": "content"})
    return content


def _chat_body(conversation: Conversation, history: list[Message]) -> dict:
    messages = [{"role": "system", "content": conversation.system_prompt}] if conversation.system_prompt else []
    messages += [{"role": m.role, "content": m.content} for m in history if m.role != Message.Role.SYSTEM]
    body: dict = {"model": conversation.model, "messages": messages}
    if conversation.temperature is not None:
        body["temperature"] = conversation.temperature
    return body


@transaction.atomic
def turn_begin(*, conversation: Conversation, content: str) -> Turn:
    """Store the user's message and return the chat body for the whole conversation."""
    content = content_clean(content)
    user_message = Message.objects.create(conversation=conversation, role=Message.Role.USER, content=content)
    return Turn(conversation=conversation, user_message=user_message,
                body=_chat_body(conversation, list(conversation.messages.all())))


def turn_again(*, conversation: Conversation) -> Turn:
    """Answer the last user message again (Regenerate, or Retry after a stopped or failed answer).

    The answers after it stay until the new answer is stored (turn_finish replaces them); raise ApiError
    (400) when the conversation has no user message to answer.
    """
    history = list(conversation.messages.all())
    last_user = next((i for i in range(len(history) - 1, -1, -1) if history[i].role == Message.Role.USER), None)
    if last_user is None:
        raise ApiError("There is no message to answer again; send one.", extra={"param": "regenerate"})
    return Turn(conversation=conversation, user_message=history[last_user], fresh=False,
                body=_chat_body(conversation, history[: last_user + 1]),
                replaces=tuple(m.id for m in history[last_user + 1:]))


@transaction.atomic
def turn_abort(*, turn: Turn) -> None:
    """Forget a turn the gateway refused: the conversation is as it was."""
    if turn.fresh:
        turn.user_message.delete()


@transaction.atomic
def turn_finish(*, turn: Turn, content: str, usage: dict | None, request_id: str, model: str,
                finish: str = "") -> Message:
    """Store the answer (``finish`` says how it ended: "", stopped, failed, length), and title the conversation
    after its first message when it has none. A regenerated answer replaces the ones it was asked instead of."""
    usage = usage or {}
    if turn.replaces:
        Message.objects.filter(conversation=turn.conversation, id__in=turn.replaces).delete()
    answer = Message.objects.create(
        conversation=turn.conversation, role=Message.Role.ASSISTANT, content=content,
        model=model or turn.conversation.model, request_id=request_id, finish=finish,
        prompt_tokens=int(usage.get("prompt_tokens") or 0), completion_tokens=int(usage.get("completion_tokens") or 0),
    )
    conversation = turn.conversation
    if not conversation.title:
        conversation.title = title_from(turn.user_message.content)
    conversation.save(update_fields=["title", "updated_at"])
    return answer


def _usage_out(usage: dict | None) -> dict:
    usage = usage or {}
    return {k: int(usage.get(k) or 0) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}


def message_out(message: Message) -> dict:
    """A message as the conversations API shows it."""
    return {
        "id": message.id, "role": message.role, "content": message.content, "model": message.model,
        "promptTokens": message.prompt_tokens, "completionTokens": message.completion_tokens,
        "finish": message.finish, "createdAt": message.created_at.isoformat(),
    }


# ---------------------------------------------------------------- errors people can act on

_BY_CODE = {
    "no_upstream_key": "No upstream key is available for this model. Add your own OpenRouter key in Settings, "
    "or ask an admin to add one to the pool.",
    "insufficient_credits": "You are out of credits. Ask an admin to top up your balance, or add your own "
    "OpenRouter key in Settings.",
    "budget_exceeded": "Your spending budget for this period is used up. Ask an admin to raise it, or wait "
    "for the next period.",
    "daily_limit_exceeded": "You reached today's limit for this model. Pick another model in a new conversation, "
    "or come back after 00:00 UTC.",
    "upstream_quota_exhausted": "The free quota for this model is used up for today. Start a new conversation "
    "with another model, or add your own OpenRouter key in Settings.",
    "model_not_found": "This model is no longer available. Start a new conversation with another model.",
    "model_not_allowed": "You may not use this model. Start a new conversation with one of your models.",
    "upstream_timeout": "The model took too long to answer. Send again, or try another model.",
    "byok_key_refused": "OpenRouter refused your own key. Fix or remove it in Settings; without it the server "
    "pool answers.",
    "byok_out_of_credits": "Your own OpenRouter key is out of credits. Top it up, or remove it in Settings to "
    "use the server pool.",
}


def friendly_message(error: ProxyError) -> str:
    """Return what the user should read (and do) for a gateway refusal; never a secret."""
    if error.code in _BY_CODE:
        return _BY_CODE[error.code]
    if error.status == 429:
        wait = error.headers.get("retry-after")
        return f"You are being rate limited. Wait {wait} s and send again." if wait else (
            "You are being rate limited. Wait a moment and send again.")
    if error.status == 404:
        return _BY_CODE["model_not_found"]
    if error.status == 402:
        return _BY_CODE["insufficient_credits"]
    if error.status == 401:
        return "Your session has expired. Log in again."
    return "The model could not answer right now. Send again in a moment, or try another model."


def error_out(error: ProxyError) -> dict:
    """The ``error`` event / response body for a refusal."""
    return error_data(friendly_message(error), error.status, error.code or "")


# ---------------------------------------------------------------- sending


def message_send(*, principal: Principal, conversation: Conversation, content: str) -> dict:
    """Send one message and wait for the whole answer; raise ApiError with a friendly message on refusal."""
    turn = turn_begin(conversation=conversation, content=content)
    try:
        reply = async_to_sync(inprocess.complete)(principal=principal, body=turn.body, source="playground")
    except ProxyError as error:
        turn_abort(turn=turn)
        raise ApiError(friendly_message(error), status_code=error.status,
                       extra={"code": error.code or ""}) from None
    choice = (reply.get("choices") or [{}])[0]
    answer = turn_finish(
        turn=turn, content=str((choice.get("message") or {}).get("content") or ""), usage=reply.get("usage"),
        request_id=(reply.get("_gateway") or {}).get("requestId", ""), model=reply.get("model", ""),
    )
    conversation.refresh_from_db(fields=["title"])
    return {"message": message_out(answer), "title": conversation.title, "usage": _usage_out(reply.get("usage"))}


async def astream_turn(*, principal: Principal, conversation: Conversation, content: str | None) -> AsyncIterator[tuple]:
    """Yield ``("token", delta)`` events, then ``("done", {...})`` or ``("error", {...})``.

    ``content`` None answers the last user message again (see turn_again()). Raise ApiError (bad input,
    see content_clean()) before anything is yielded. Cancelling the consumer (the client went away, or
    pressed stop) closes the gateway stream, which cancels the upstream request; the text so far is kept
    as the answer, marked stopped (or failed, after an error; or length, when the model was cut off).
    """
    if content is None:
        turn = await sync_to_async(turn_again)(conversation=conversation)
    else:
        turn = await sync_to_async(turn_begin)(conversation=conversation, content=content)
    chunks = inprocess.stream(principal=principal, body=turn.body, source="playground")
    parts: list[str] = []
    usage: dict | None = None
    request_id = model = finish = ""
    try:
        async for chunk in chunks:
            request_id = (chunk.get("_gateway") or {}).get("requestId", request_id)
            model = chunk.get("model") or model
            usage = chunk.get("usage") or usage
            if any((c.get("finish_reason") == "length") for c in chunk.get("choices") or [] if isinstance(c, dict)):
                finish = "length"
            if "error" in chunk:
                # A failure after the first token: the gateway's final error chunk (see chat.proxy.inprocess.stream).
                error = chunk["error"] if isinstance(chunk["error"], dict) else {}
                refusal = ProxyError(502, str(error.get("message", "")), code=str(error.get("code") or ""))
                yield "error", error_out(refusal)
                if parts:
                    await sync_to_async(turn_finish)(turn=turn, content="".join(parts), usage=usage,
                                                     request_id=request_id, model=model, finish="failed")
                else:
                    await sync_to_async(turn_abort)(turn=turn)
                return
            for choice in chunk.get("choices") or []:
                delta = (choice.get("delta") or {}).get("content")
                if delta:
                    parts.append(delta)
                    yield "token", delta
    except ProxyError as error:
        await sync_to_async(turn_abort)(turn=turn)
        yield "error", error_out(error)
        return
    except (asyncio.CancelledError, GeneratorExit):
        await chunks.aclose()
        if parts:
            await asyncio.shield(sync_to_async(turn_finish)(turn=turn, content="".join(parts), usage=usage,
                                                            request_id=request_id, model=model, finish="stopped"))
        else:
            await asyncio.shield(sync_to_async(turn_abort)(turn=turn))
        raise
    finally:
        await chunks.aclose()
    answer = await sync_to_async(turn_finish)(turn=turn, content="".join(parts), usage=usage,
                                              request_id=request_id, model=model, finish=finish)
    yield "done", {"messageId": answer.id, "title": turn.conversation.title, "usage": _usage_out(usage),
                   "finish": finish}
