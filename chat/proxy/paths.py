"""The /v1 path, normalised once, and the one routing table the ASGI app dispatches on.

``normalise`` turns the raw request path (``scope["raw_path"]``, still
percent-encoded) into decoded segments: duplicate slashes and ``.`` segments
drop out, ``..`` removes the segment before it. It refuses, with a 400, what
two servers could read two ways: an encoded ``?`` or ``#``, NUL or any other
control character, an invalid percent-escape, bytes that are not UTF-8, and a
``..`` that would climb out of ``/v1``. An encoded ``/`` stays inside its
segment as data (the OpenAI SDK sends ``/v1/models/meta-llama%2Fllama-3``);
it can never act as a separator, and the pass-through refuses it outright.

``V1_ROUTES`` lists every route of the /v1 app (an authorization matrix test
enumerates it); ``match`` finds the route of a normalised path.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from chat.proxy.errors import ProxyError

# The management API's chat endpoint (JWT) is the /v1 endpoint under another path.
CHAT_API_PATH = "/api/chat/completions"
_ROOTS = (("v1",), ("api", "chat", "completions"))
_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f?#\\]")


def belongs_to_proxy(path: str) -> bool:
    """Whether the (server-decoded) ``path`` is for the /v1 app, however its slashes are doubled."""
    collapsed = re.sub(r"/{2,}", "/", path)
    return collapsed == "/v1" or collapsed.startswith("/v1/") or collapsed == CHAT_API_PATH


def _refuse(reason: str) -> ProxyError:
    return ProxyError(400, f"The request path is not valid: {reason}.", code="invalid_path")


def _decode(segment: bytes) -> str:
    if b"%" not in segment:
        raw = segment
    elif _ESCAPE.search(segment):
        raise _refuse("it has a '%' that does not start a two-digit hex escape")
    else:
        raw = unquote_to_bytes(segment)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse("it is not UTF-8") from None
    if _CONTROL.search(text):
        raise _refuse("it holds a control character, '?', '#' or '\\'")
    if "/" in text and any(part in ("", ".", "..") for part in text.split("/")):
        raise _refuse("an encoded '/' leaves an empty, '.' or '..' segment")
    return text


@functools.lru_cache(maxsize=1024)  # clients send a handful of paths; a refused one raises and is not kept
def normalise(raw_path: bytes) -> tuple[str, ...]:
    """Return the decoded segments of ``raw_path``, or raise a 400 ``ProxyError`` naming why it is refused."""
    segments: list[str] = []
    root = 0
    for piece in raw_path.split(b"/"):
        text = _decode(piece)
        if text in ("", "."):
            continue
        if text == "..":
            if len(segments) <= root:
                raise _refuse("'..' climbs out of /v1")
            segments.pop()
            continue
        segments.append(text)
        if not root and tuple(segments[:1]) == ("v1",):
            root = 1  # nothing may climb above /v1 once it is entered
    if not segments or not any(tuple(segments[:len(r)]) == r for r in _ROOTS):
        raise _refuse("it does not stay under /v1")
    return tuple(segments)


@dataclass(frozen=True)
class Route:
    """One route of the /v1 app. A ``{name}`` placeholder that ends the template takes the rest of the path."""

    method: str  # "*" for any method
    template: str
    name: str

    def parts(self) -> tuple[str, ...]:
        return tuple(p for p in self.template.split("/") if p)

    def match(self, segments: tuple[str, ...]) -> dict[str, str] | None:
        """Return the placeholder values when ``segments`` fit this route's template, else None."""
        parts = self.parts()
        last = parts[-1]
        if last.startswith("{") and last.endswith("}"):
            fixed = parts[:-1]
            if len(segments) <= len(fixed) or segments[:len(fixed)] != fixed:
                return None
            return {last[1:-1]: "/".join(segments[len(fixed):])}
        return {} if segments == parts else None


V1_ROUTES: tuple[Route, ...] = (
    Route("POST", "/v1/chat/completions", "chat_completions"),
    Route("POST", CHAT_API_PATH, "chat_completions_api"),
    Route("POST", "/v1/messages", "messages"),
    Route("POST", "/v1/messages/count_tokens", "messages_count_tokens"),
    Route("GET", "/v1/models", "models_list"),
    Route("GET", "/v1/models/{id}", "model_detail"),
    Route("POST", "/v1/responses", "responses"),
    Route("GET", "/v1/responses/{response_id}", "response_detail"),
    Route("POST", "/v1/completions", "completions"),
    Route("POST", "/v1/embeddings", "embeddings"),
    Route("*", "/v1/{upstream_path}", "passthrough"),
)


def match(method: str, segments: tuple[str, ...]) -> tuple[Route, dict[str, str]]:
    """Return the route for ``method`` and ``segments``.

    Raise 405 with ``Allow`` when a route of the gateway's own has the path but not the method
    (the pass-through never takes those), and 404 when no route has the path.
    """
    route, params = _match(method, segments)
    return route, dict(params)


@functools.lru_cache(maxsize=1024)  # as normalise: a few paths repeat; the caller gets its own dict
def _match(method: str, segments: tuple[str, ...]) -> tuple[Route, tuple[tuple[str, str], ...]]:
    allowed: set[str] = set()
    template = ""
    for route in V1_ROUTES:
        params = route.match(segments)
        if params is None:
            continue
        if route.method == "*" and allowed:
            break
        if route.method in ("*", method):
            return route, tuple(params.items())
        allowed.add(route.method)
        template = template or route.template
    if not allowed:
        raise ProxyError(404, "There is no such /v1 route.", code="not_found")
    allow = ", ".join(sorted(allowed))
    raise ProxyError(405, f"Use {allow} for {template}.", code="method_not_allowed",
                     headers={"allow": allow})
