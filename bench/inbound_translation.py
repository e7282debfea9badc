"""Cost of the Anthropic Messages translation, in microseconds, beside the chat validation it adds to.

    DJANGO_DEBUG=1 python bench/inbound_translation.py

Ratios only mean something on a shared machine (docs/decisions/0014-anthropic-inbound.md).
"""

from __future__ import annotations

import os
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402

from chat.proxy.exchange import Exchange  # noqa: E402
from chat.proxy.inbound.anthropic import to_chat  # noqa: E402
from chat.proxy.inbound.anthropic_answer import StreamTranslator, message_from  # noqa: E402
from chat.proxy.validation import validate_chat  # noqa: E402

BODY = {"model": "m", "max_tokens": 100, "system": "Be brief.",
        "tools": [{"name": "w", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "hi " * 50},
                     {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "w", "input": {"a": 1}}]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]}]}
ANSWER = {"choices": [{"message": {"content": "hello " * 50}, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 5, "completion_tokens": 6}}
CHUNK = (b'data: {"id":"g","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" word"},'
         b'"finish_reason":null}]}\n\n')


def main(n: int = 20000) -> None:
    chat = to_chat(BODY)
    exchange = Exchange(request_id="req_x", principal=None, source="api", body=chat)
    translator = StreamTranslator(exchange)
    translator.start()
    raw = orjson.dumps(BODY)
    for name, work in (("to_chat", lambda: to_chat(BODY)), ("validate_chat (reference)", lambda: validate_chat(chat)),
                       ("orjson.loads (reference)", lambda: orjson.loads(raw)),
                       ("message_from", lambda: message_from(ANSWER, exchange)),
                       ("stream chunk", lambda: translator.feed(CHUNK))):
        print(f"{name:28} {timeit.timeit(work, number=n) / n * 1e6:8.1f} us")


if __name__ == "__main__":
    main()
