"""The throttles of login and registration, one definition for the pages and the REST API.

Each is counted per client address (``REMOTE_ADDR``: the peer, or the client a
``TRUSTED_PROXIES`` proxy reports, see gateway_project/forwarded.py) and per
account named in the body, the email normalised (surrounding space stripped,
case folded) so ``DAVE@x`` and `` dave@X`` are one bucket.
"""

from __future__ import annotations

from django_ratelimit.decorators import ratelimit

PER_IP = "20/m"
PER_EMAIL = "10/m"


def normalise_email(value: object) -> str:
    """Return ``value`` as the throttles and the account lookups see an email: stripped, case-folded."""
    return value.strip().casefold() if isinstance(value, str) else ""


def body_email(group: str, request) -> str:
    """Rate-limit key: the normalised email of a form post or of a DRF request's parsed body."""
    data = getattr(request, "data", None)  # a DRF Request: JSON or form, parsed once
    if data is None:
        data = request.POST
    return normalise_email(data.get("email") if hasattr(data, "get") else None)


LOGIN = "auth-login"
REGISTER = "auth-register"


def auth_throttled(group: str):
    """Decorate a login or registration view (a function, or an APIView's ``post``): per IP and per email.

    ``group`` (``LOGIN`` or ``REGISTER``) is shared by the page and the REST
    endpoint, so switching between them buys no extra attempts.
    """

    def decorate(view):
        view = ratelimit(group=group, key=body_email, rate=PER_EMAIL, method="POST", block=True)(view)
        return ratelimit(group=group, key="ip", rate=PER_IP, method="POST", block=True)(view)

    return decorate
