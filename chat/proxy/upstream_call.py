"""Which upstream operation an exchange calls: chat completions (every inbound API but one) or embeddings.

The router and the attempt are the same for both; only the request line, the
check of the client's body and the reading of the answer differ, and those are
chosen here, from the exchange's ``endpoint``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chat.proxy.embeddings import validate_embeddings
from chat.proxy.validation import validate_chat
from models_catalog.adapters import Adapter


@dataclass(frozen=True)
class UpstreamCall:
    name: str  # "chat" or "embeddings"
    validate: Callable[[dict], None]
    streams: bool  # whether the answer may be a stream

    def request(self, adapter: Adapter, *, base_url: str, api_key: str, body: dict) -> tuple[str, dict, bytes] | None:
        """The (url, headers, payload) of this call on ``adapter``'s provider; None when it has no such call."""
        if self.name == "embeddings":
            return adapter.embeddings_request(base_url=base_url, api_key=api_key, body=body)
        return adapter.chat_request(base_url=base_url, api_key=api_key, body=body)

    def answer(self, adapter: Adapter, raw: bytes, *, model: str) -> bytes:
        """The provider's whole answer in OpenAI's shape."""
        return raw if self.name == "embeddings" else adapter.chat_response(raw, model=model)


CHAT = UpstreamCall("chat", validate_chat, streams=True)
EMBEDDINGS = UpstreamCall("embeddings", validate_embeddings, streams=False)


def for_endpoint(endpoint: str) -> UpstreamCall:
    return EMBEDDINGS if endpoint == "embeddings" else CHAT
