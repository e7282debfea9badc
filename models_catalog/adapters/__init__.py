"""Provider adapters: how a chat request reaches a provider and how its answer comes back.

The proxy speaks OpenAI's chat-completions protocol on both sides. An adapter
turns the (already validated) OpenAI body into the provider's request, and the
provider's answer, whole or streamed, back into OpenAI's shapes. OpenRouter and
every OpenAI-compatible provider need no translation.
"""

from __future__ import annotations

from models_catalog.adapters.base import Adapter, OpenAICompatible

_OPENAI = OpenAICompatible()


def for_kind(kind: str) -> Adapter:
    """Return the adapter for a provider kind (``openrouter``, ``openai``, ``anthropic``)."""
    if kind == "anthropic":
        from models_catalog.adapters.anthropic import AnthropicMessages

        return AnthropicMessages()
    return _OPENAI


__all__ = ["Adapter", "OpenAICompatible", "for_kind"]
