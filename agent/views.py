"""The agent's page: a conversation with the gateway's agent (``static/js/agent.js`` talks to ``/api/agent/chat``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agent.tools import TOOLS


@login_required
@require_GET
def agent_page(request):
    """Every signed-in user: the agent's tools answer from the caller's own models and usage."""
    tools = [t["function"]["name"] for t in TOOLS]
    return render(request, "agent/agent.html", {"tools": tools})
