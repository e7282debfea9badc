"""Credit reservations and charges: reserve the most a request can cost, then charge what it did.

Every check-and-hold is one conditional UPDATE (``... WHERE balance - reserved >= amount``),
so concurrent requests in any number of processes never overspend a balance or a budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from accounts.models import BudgetUsage, CreditAccount, LedgerEntry


class CreditRefused(Exception):
    """The balance or a budget cannot cover the reservation; the message says which."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Budget:
    scope: str  # "user:<id>" / "key:<id>"
    limit: Decimal
    period: str  # daily, monthly, total


@dataclass
class Hold:
    user_id: int
    amount: Decimal
    use_balance: bool
    budget_rows: list[tuple[str, str]] = field(default_factory=list)  # (scope, period key)


def period_key(period: str, when: datetime) -> str:
    if period == "daily":
        return when.strftime("%Y-%m-%d")
    if period == "monthly":
        return when.strftime("%Y-%m")
    return "total"


@transaction.atomic
def credits_reserve(*, user_id: int, amount: Decimal, use_balance: bool, budgets: list[Budget], when: datetime) -> Hold:
    """Hold ``amount`` against the balance (when ``use_balance``) and every budget, or raise CreditRefused."""
    hold = Hold(user_id=user_id, amount=amount, use_balance=use_balance)
    if use_balance:
        CreditAccount.objects.get_or_create(user_id=user_id)
        held = CreditAccount.objects.filter(user_id=user_id, balance__gte=F("reserved") + amount).update(
            reserved=F("reserved") + amount
        )
        if not held:
            raise CreditRefused(
                f"Insufficient credits: this request may cost up to ${amount:.6f}; top up or lower max_tokens.",
                "insufficient_credits",
            )
    for budget in budgets:
        key = period_key(budget.period, when)
        BudgetUsage.objects.get_or_create(scope=budget.scope, period=key)
        held = BudgetUsage.objects.filter(
            scope=budget.scope, period=key, spent__lte=budget.limit - amount - F("reserved")
        ).update(reserved=F("reserved") + amount)
        if not held:
            transaction.set_rollback(True)
            what = "key" if budget.scope.startswith("key:") else "account"
            raise CreditRefused(
                f"The {budget.period} budget of ${budget.limit} for this {what} cannot cover this request.",
                "budget_exceeded",
            )
        hold.budget_rows.append((budget.scope, key))
    return hold


@transaction.atomic
def credits_settle(*, hold: Hold, cost: Decimal, request_id: str, note: str = "") -> None:
    """Charge ``cost``, release the rest of the hold, and write the ledger line (atomically)."""
    if hold.use_balance:
        CreditAccount.objects.filter(user_id=hold.user_id).update(
            reserved=F("reserved") - hold.amount, balance=F("balance") - cost
        )
        if cost > 0:
            balance = CreditAccount.objects.values_list("balance", flat=True).get(user_id=hold.user_id)
            LedgerEntry.objects.create(
                user_id=hold.user_id, kind=LedgerEntry.Kind.CHARGE, amount=-cost, balance_after=balance,
                note=note[:255], request_id=request_id,
            )
    for scope, key in hold.budget_rows:
        BudgetUsage.objects.filter(scope=scope, period=key).update(
            reserved=F("reserved") - hold.amount, spent=F("spent") + cost
        )
