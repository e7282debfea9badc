"""How many tokens a request used: the upstream's own count when it reports one, else an estimate.

Every token estimate of the gateway is made here: the rough count for the log and
the charge when the upstream reported no usage, and the over-estimate that sizes
a credit reservation before the request goes upstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import orjson

CHARS_PER_TOKEN = 4  # the rough count
CHARS_PER_TOKEN_UPPER = 3  # the over-estimate
NON_TEXT_PART_CHARS = 255  # an image or file part, in the over-estimate
MESSAGE_OVERHEAD_TOKENS = 8
REQUEST_OVERHEAD_TOKENS = 16
GENERATION_ID_CHARS = 100  # RequestLog.generation_id


@dataclass
class TokenCount:
    """The tokens of one exchange. ``reported`` is True once the upstream's usage was read; ``cost`` is what the
    upstream said the answer cost (``usage.cost``, OpenRouter), and ``generation_id`` its id of the answer."""

    prompt: int = 0
    completion: int = 0
    reported: bool = False
    cost: Decimal | None = None
    generation_id: str = ""

    @property
    def total(self) -> int:
        return self.prompt + self.completion

    def note_usage(self, usage: object, answer_id: object = None) -> None:
        """Take the upstream's ``usage`` object, when it is one, and the id of the answer that carried it."""
        if isinstance(answer_id, str) and answer_id:
            self.generation_id = answer_id[:GENERATION_ID_CHARS]
        if isinstance(usage, dict):
            self.prompt = int(usage.get("prompt_tokens") or 0)
            self.completion = int(usage.get("completion_tokens") or 0)
            self.reported = True
            self.cost = _reported_cost(usage.get("cost"))

    def estimate(self, body: dict, completion: int) -> None:
        """When the upstream reported no usage: estimate the prompt from ``body`` and take ``completion``."""
        if self.reported:
            return
        self.prompt = self.prompt or estimate_prompt(body)
        self.completion = completion


def _reported_cost(value: object) -> Decimal | None:
    """A cost the upstream reported: a finite number, zero or more; None otherwise (list prices apply)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        cost = Decimal(str(value))
    except InvalidOperation:
        return None
    return cost if cost.is_finite() and cost >= 0 else None


def estimate_completion(answer: dict) -> int:
    """A rough count of a whole answer's tokens (4 characters a token, at least one)."""
    text = "".join(str((c.get("message") or {}).get("content") or "") for c in answer.get("choices") or []
                   if isinstance(c, dict))
    return max(len(text) // CHARS_PER_TOKEN, 1)


def _text_chars(body: dict, non_text_part: int) -> tuple[int, int]:
    chars = 0
    messages = body.get("messages") or []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict):
                    text = part.get("text", "")
                    chars += (len(text) if isinstance(text, str) else 0) + non_text_part * (part.get("type") != "text")
    pieces = body.get("input")  # an embeddings request
    for piece in [pieces] if isinstance(pieces, str) else pieces if isinstance(pieces, list) else ():
        chars += len(piece) if isinstance(piece, str) else len(piece) * CHARS_PER_TOKEN if isinstance(piece, list) else 0
    return chars, len(messages)


def estimate_prompt(body: dict) -> int:
    """A rough count of the prompt's tokens (4 characters a token), for when the upstream reported none."""
    chars, _ = _text_chars(body, 0)
    return max(chars // CHARS_PER_TOKEN, 1)


def prompt_upper_bound(body: dict) -> int:
    """An over-estimate of the prompt's tokens (3 characters a token, plus per-message overhead)."""
    chars, messages = _text_chars(body, NON_TEXT_PART_CHARS)
    return chars // CHARS_PER_TOKEN_UPPER + MESSAGE_OVERHEAD_TOKENS * messages + REQUEST_OVERHEAD_TOKENS


def estimate_request(body: dict) -> int:
    """A rough count of everything a request puts before the model: its messages and its tool definitions."""
    tools = body.get("tools")
    tool_chars = len(orjson.dumps(tools)) if tools else 0
    return estimate_prompt(body) + tool_chars // CHARS_PER_TOKEN
