"""Playground pages: conversations, a new one with one of My models, and the chat itself.

The page streams answers with JavaScript from the SSE endpoint; every form also
works as a plain POST (the send form then waits for the whole answer).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.principals import require_principal
from chat.models import Conversation
from chat.playground import selectors, services
from gateway_project.errors import ApiError, found
from models_catalog.selectors import user_usable_models


def _temperature(raw: str) -> float | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ApiError("Temperature must be a number between 0 and 2.") from None


def _own(request, conversation_id: int) -> Conversation:
    return found(selectors.conversation_get(user_id=request.user.id, conversation_id=conversation_id),
                 "No such conversation.")


def _page_context(request, conversation: Conversation | None, **extra) -> dict:
    my_models = user_usable_models(user_id=request.user.id)
    return {
        "conversations": selectors.conversation_list(user_id=request.user.id)[:100],
        "conversation": conversation,
        "chat_messages": selectors.message_list(conversation=conversation) if conversation else [],
        "my_models": my_models,
        "model_names": {m.model_id: m.name or m.model_id for m in my_models},
        "error": "",
        **extra,
    }


@login_required
@require_GET
def playground_page(request):
    """The conversations list and the form that starts a new one."""
    return render(request, "chat/playground.html", _page_context(request, None, model=request.GET.get("model", "")))


@login_required
@require_POST
def conversation_new(request):
    """Start a conversation; with ``content`` (the message box, without JavaScript) also send that first message."""
    content = request.POST.get("content", "")
    try:
        if content.strip():
            services.content_clean(content)  # refused before anything is stored
        conversation = services.conversation_create(
            user_id=request.user.id, model=request.POST.get("model", ""),
            system_prompt=request.POST.get("system_prompt", ""),
            temperature=_temperature(request.POST.get("temperature", "")),
        )
    except ApiError as exc:
        context = _page_context(request, None, error=exc.message, model=request.POST.get("model", ""), draft=content)
        return render(request, "chat/playground.html", context, status=400)
    if content.strip():
        try:
            services.message_send(principal=require_principal(request.user.id), conversation=conversation,
                                       content=content)
        except ApiError as exc:
            context = _page_context(request, conversation, error=exc.message, draft=content)
            return render(request, "chat/playground.html", context, status=exc.status_code)
    return redirect("conversation", conversation_id=conversation.id)


@login_required
@require_GET
def conversation_page(request, conversation_id: int):
    return render(request, "chat/playground.html", _page_context(request, _own(request, conversation_id)))


@login_required
@require_POST
def conversation_send(request, conversation_id: int):
    """Send without JavaScript: wait for the whole answer, then show the conversation."""
    conversation = _own(request, conversation_id)
    try:
        principal = require_principal(request.user.id)
        services.message_send(principal=principal, conversation=conversation,
                                   content=request.POST.get("content", ""))
    except ApiError as exc:
        context = _page_context(request, conversation, error=exc.message, draft=request.POST.get("content", ""))
        return render(request, "chat/playground.html", context, status=exc.status_code)
    return redirect("conversation", conversation_id=conversation.id)


@login_required
@require_POST
def conversation_settings(request, conversation_id: int):
    conversation = _own(request, conversation_id)
    try:
        services.conversation_update(
            conversation=conversation, system_prompt=request.POST.get("system_prompt", ""),
            temperature=_temperature(request.POST.get("temperature", "")),
        )
    except ApiError as exc:
        conversation.refresh_from_db()
        if request.htmx:
            return render(request, "chat/playground.html#settings",
                          _page_context(request, conversation, settings_error=exc.message), status=400)
        messages.error(request, exc.message)
        return redirect("conversation", conversation_id=conversation.id)
    if request.htmx:
        return render(request, "chat/playground.html#settings", _page_context(request, conversation, saved=True))
    return redirect("conversation", conversation_id=conversation.id)


@login_required
@require_POST
def conversation_remove(request, conversation_id: int):
    services.conversation_delete(conversation=_own(request, conversation_id))
    messages.success(request, "Conversation deleted.")
    return redirect("playground")
