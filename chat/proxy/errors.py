"""The /v1 error shapes, made here and nowhere else.

OpenAI's ``{"error": {"message", "type", "code", "param"}}`` on every route but
the Anthropic Messages API's, which gets Anthropic's
``{"type": "error", "error": {"type", "message"}}`` (``ProxyError.body_for``).
"""

from __future__ import annotations

import orjson

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}

# Anthropic's error types by status (platform.claude.com/docs/en/api/errors); other 4xx are invalid_request_error.
_ANTHROPIC_TYPES = {
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}
OPENAI = "openai"
ANTHROPIC = "anthropic"


class ProxyError(Exception):
    """Answer the /v1 client with this status and an OpenAI-shaped error."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.type = type or _TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        self.headers = headers or {}

    def payload(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "code": self.code, "param": self.param}}

    def anthropic_type(self) -> str:
        return _ANTHROPIC_TYPES.get(self.status, "api_error" if self.status >= 500 else "invalid_request_error")

    def payload_for(self, api: str) -> dict:
        """The error as ``api`` (OPENAI or ANTHROPIC) shapes it."""
        if api == ANTHROPIC:
            return {"type": "error", "error": {"type": self.anthropic_type(), "message": self.message}}
        return self.payload()

    def body(self) -> bytes:
        return orjson.dumps(self.payload())

    def body_for(self, api: str) -> bytes:
        return orjson.dumps(self.payload_for(api))

    def sse_event(self) -> bytes:
        """The same error as one SSE event, for failures after a stream started."""
        return b"data: " + self.body() + b"\n\n"

    def sse_event_for(self, api: str) -> bytes:
        """The error as ``api``'s stream ends with it (Anthropic's is a named ``error`` event)."""
        if api == ANTHROPIC:
            return b"event: error\ndata: " + self.body_for(api) + b"\n\n"
        return self.sse_event()
