"""The adapter interface and the OpenAI-compatible pass-through."""

from __future__ import annotations

from collections.abc import Callable

import orjson


class Adapter:
    """Translate one chat request and its answer between OpenAI's protocol and a provider's."""

    def chat_request(self, *, base_url: str, api_key: str, body: dict) -> tuple[str, dict[str, str], bytes]:
        """Return (url, headers, payload) for POSTing ``body`` (OpenAI shape) to the provider."""
        raise NotImplementedError

    def chat_response(self, raw: bytes, *, model: str) -> bytes:
        """Return the provider's whole answer as OpenAI chat.completion JSON bytes."""
        raise NotImplementedError

    def embeddings_request(self, *, base_url: str, api_key: str, body: dict) -> tuple[str, dict[str, str], bytes] | None:
        """Return (url, headers, payload) for POSTing an OpenAI embeddings ``body``; None when the provider has none."""
        return None

    def stream_translator(self, *, model: str) -> Callable[[bytes], list[bytes]] | None:
        """Return a function from one provider SSE event to OpenAI SSE events, or None to relay as is."""
        raise NotImplementedError

    def models_request(self, *, base_url: str, api_key: str) -> tuple[str, dict[str, str]]:
        """Return (url, headers) for GETting the provider's models list."""
        return f"{base_url}/models", ({"Authorization": f"Bearer {api_key}"} if api_key else {})

    def error_message(self, raw: bytes) -> tuple[str, dict]:
        """Return (message, metadata) of a provider error body."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw[:300].decode("utf-8", "replace") or "upstream error", {}
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            return str(error.get("message") or "upstream error"), error.get("metadata") or {}
        if isinstance(error, str):
            return error, {}
        return "upstream error", {}


class OpenAICompatible(Adapter):
    """OpenRouter, OpenAI, Groq, Gemini's OpenAI endpoint, Ollama, vLLM: bytes pass through."""

    def chat_request(self, *, base_url: str, api_key: str, body: dict) -> tuple[str, dict[str, str], bytes]:
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        return f"{base_url}/chat/completions", headers, orjson.dumps(body)

    def embeddings_request(self, *, base_url: str, api_key: str, body: dict) -> tuple[str, dict[str, str], bytes]:
        url, headers, payload = self.chat_request(base_url=base_url, api_key=api_key, body=body)
        return f"{base_url}/embeddings", headers, payload

    def chat_response(self, raw: bytes, *, model: str) -> bytes:
        return raw

    def stream_translator(self, *, model: str):
        return None
