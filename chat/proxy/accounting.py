"""Credits and budgets on the hot path: only paid models touch the database.

A free model costs nothing, so it reserves nothing and makes no query. For a
paid model the gateway holds the most the request can cost (prompt estimate
plus ``max_tokens``, or ``GATEWAY_DEFAULT_MAX_TOKENS_RESERVE``) before going
upstream, and settles the actual cost afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings

from accounts import credits
from accounts.principals import Principal
from chat.proxy import clock
from chat.proxy.errors import ProxyError
from chat.proxy.tokens import prompt_upper_bound
from models_catalog.selectors import ModelInfo


@dataclass
class Reservation:
    hold: credits.Hold
    request_id: str
    note: str


def _budgets(principal: Principal) -> list[credits.Budget]:
    budgets = []
    if principal.key_id is not None and principal.key_budget is not None:
        budgets.append(credits.Budget(f"key:{principal.key_id}", principal.key_budget, principal.key_budget_period))
    if principal.user_budget is not None:
        budgets.append(credits.Budget(f"user:{principal.user_id}", principal.user_budget, principal.user_budget_period))
    return budgets


async def reserve(*, principal: Principal, models: list[ModelInfo], body: dict, request_id: str) -> Reservation | None:
    """Hold the largest possible cost of the request, or raise 402. None when nothing is paid."""
    paid = [m for m in models if m.paid]
    if not paid:
        return None
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens") or settings.GATEWAY.default_max_tokens_reserve
    prompt = prompt_upper_bound(body)
    amount = max(m.prompt_price * prompt + m.completion_price * int(max_tokens) for m in paid)
    amount = amount.quantize(Decimal("0.000001")) if amount >= Decimal("0.000001") else Decimal("0.000001")
    use_balance = principal.byok_encrypted is None  # with their own key, the user's own account pays upstream
    budgets = _budgets(principal)
    if not use_balance and not budgets:
        return None
    try:
        hold = await sync_to_async(credits.credits_reserve, thread_sensitive=False)(
            user_id=principal.user_id, amount=amount, use_balance=use_balance, budgets=budgets, when=clock.utcnow()
        )
    except credits.CreditRefused as refused:
        raise ProxyError(402, str(refused), code=refused.code, type="insufficient_quota",
                         headers={"x-should-retry": "false"}) from None
    return Reservation(hold=hold, request_id=request_id, note=", ".join(m.model_id for m in paid)[:255])


async def settle(reservation: Reservation, *, cost: Decimal) -> None:
    """Charge ``cost`` (zero when nothing was served) and release the hold."""
    cost = cost.quantize(Decimal("0.000001"))
    await sync_to_async(credits.credits_settle, thread_sensitive=False)(
        hold=reservation.hold, cost=cost, request_id=reservation.request_id, note=reservation.note
    )
