"""``/v1/*`` paths the gateway does not act on (embeddings included): forwarded to OpenRouter.

The caller's own key is used when set, else a pool key; the answer streams back
unchanged. Requests are logged like chat requests.
"""

from __future__ import annotations

import time

import aiohttp
from django.conf import settings

from accounts.principals import Principal
from chat.proxy import log_row, pool, upstream
from chat.proxy.asgi_io import encode_headers, read_body
from chat.proxy.errors import ProxyError
from chat.proxy.router import credentials_for
from models_catalog.selectors import ModelInfo, ProviderInfo

_HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade",
               b"content-length", b"content-encoding", b"host", b"authorization", b"x-client-api-key"}


def _openrouter_stub() -> ModelInfo:
    from decimal import Decimal

    provider = ProviderInfo("openrouter", "openrouter", settings.GATEWAY.openrouter_base_url, "")
    return ModelInfo(0, "", "", provider, Decimal(0), Decimal(0), True, True, False, None, 0)


async def forward(scope, receive, send, principal: Principal, request_id: str) -> None:
    cfg = settings.GATEWAY
    started = time.monotonic()
    body = await read_body(receive, cfg.max_body_bytes)
    creds = await credentials_for(_openrouter_stub(), principal)
    health = await pool.read_health([c.account for c in creds])
    now = time.time()
    usable = [c for c in creds if health[c.account].blocked(c, "", now) is None]
    if not usable:
        raise ProxyError(503, "No upstream key is available for this request.", code="no_upstream_key")
    cred = usable[0]
    tail = scope["path"].removeprefix("/v1")
    query = scope.get("query_string", b"").decode("latin-1")
    url = f"{cfg.openrouter_base_url}{tail}" + (f"?{query}" if query else "")
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k not in _HOP_BY_HOP}
    headers["Authorization"] = f"Bearer {cred.secret}"
    status = 502
    try:
        async with upstream.session().request(
            scope["method"], url, data=body or None, headers=headers,
            timeout=aiohttp.ClientTimeout(total=cfg.upstream_timeout_s),
        ) as response:
            status = response.status
            out = {k: v for k, v in response.headers.items() if k.lower().encode() not in _HOP_BY_HOP}
            out["x-request-id"] = request_id
            await send({"type": "http.response.start", "status": status, "headers": encode_headers(out)})
            async for chunk in response.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise ProxyError(502, "Could not reach the upstream.", code="upstream_unreachable") from exc
    finally:
        log_row.queue(principal=principal, request_id=request_id, source="api", endpoint=tail.lstrip("/"),
                      started=started, status=status,
                      attempts=[{"key": cred.masked, "account": cred.account, "status": status}])
