"""The body of ``POST /v1/embeddings``, checked at the edge like a chat body (chat/proxy/validation.py)."""

from __future__ import annotations

from chat.proxy.errors import ProxyError
from chat.proxy.validation import MAX_INT

ENCODINGS = ("float", "base64")


def _bad(message: str, param: str, code: str = "invalid_value") -> ProxyError:
    return ProxyError(400, message, param=param, code=code)


def _is_tokens(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in value)


def validate_embeddings(body: dict) -> None:
    """Raise a 400 naming the parameter when ``body`` is not an embeddings request."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _bad("model is required: a model id, an alias or @preset/<name>.", "model", "missing_required_parameter")
    text = body.get("input")
    pieces = [text] if isinstance(text, str) or _is_tokens(text) else text
    if not isinstance(pieces, list) or not pieces:
        raise _bad("input is required: a string, a list of strings, or token ids.", "input",
                   "missing_required_parameter")
    for i, piece in enumerate(pieces):
        if not isinstance(piece, str) and not _is_tokens(piece):
            raise _bad(f"input[{i}] must be a string or a list of token ids.", f"input[{i}]", "invalid_type")
    if body.get("encoding_format") is not None and body["encoding_format"] not in ENCODINGS:
        raise _bad("encoding_format must be float or base64.", "encoding_format")
    dimensions = body.get("dimensions")
    if dimensions is not None and (isinstance(dimensions, bool) or not isinstance(dimensions, int)
                                   or not 1 <= dimensions <= MAX_INT):
        raise _bad("dimensions must be a positive integer.", "dimensions", "invalid_type")
    if body.get("stream"):
        raise _bad("Embeddings do not stream; leave stream out.", "stream")
    if body.get("user") is not None and not isinstance(body["user"], str):
        raise _bad("user must be a string.", "user", "invalid_type")
    models = body.get("models")
    if models is not None and (not isinstance(models, list) or not all(isinstance(m, str) and m for m in models)):
        raise _bad("models must be a list of model ids.", "models", "invalid_type")
