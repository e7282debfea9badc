"""Admin console pages for users (role, active, credits) and the upstream key pool."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts import registration, selectors, services, upstream_check
from accounts.forms import CreditsForm, PoolImportForm, PoolKeyForm, PoolKeyLimitsForm
from accounts.models import Role, UpstreamKey, User
from accounts.permissions import admin_page
from gateway_project.errors import ApiError, found
from gateway_project.forms import form_problem
from gateway_project.money import usd

USER_PAGE_SIZE = 50
IMPORT_MAX_BYTES = 1_000_000


def _user(user_id: int) -> User:
    return found(selectors.user_get(user_id=user_id), "No such user.")


def _user_row(request: HttpRequest, user: User, *, error: str = "", notice: str = "") -> HttpResponse:
    """After a change: the row partial for htmx, else back to the list (the message says what happened)."""
    if request.htmx:
        user = selectors.user_list().get(pk=user.pk)
        return render(request, "console/users.html#user-row", {"u": user, "roles": Role.choices, "error": error,
                                                               "notice": notice}, status=400 if error else 200)
    if error:
        messages.error(request, f"{user.email}: {error}")
    else:
        messages.success(request, f"{user.email}: {notice}")
    return redirect("console-users")


def _users_page(request: HttpRequest, *, status: int = 200, **extra) -> HttpResponse:
    page = Paginator(selectors.user_list(), USER_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "console/users.html", {
        "page": page, "roles": Role.choices, "registration_open": settings.GATEWAY.registration_open,
        "invite_default_hours": registration.INVITE_DEFAULT_HOURS, "invite_max_hours": registration.INVITE_MAX_HOURS,
        **extra,
    }, status=status)


@require_GET
@admin_page
def users_page(request: HttpRequest) -> HttpResponse:
    return _users_page(request)


@require_POST
@admin_page
def user_invite(request: HttpRequest) -> HttpResponse:
    """Create an invite and show its link once, on the users page."""
    try:
        hours = int(request.POST.get("hours", "").strip() or registration.INVITE_DEFAULT_HOURS)
        created = registration.invite_create(by=request.user, hours=hours)
    except ValueError:
        messages.error(request, "Valid for must be a whole number of hours.")
        return _users_page(request, status=400)
    except ApiError as exc:
        messages.error(request, exc.message.replace("expiresInHours", "Valid for (hours)"))
        return _users_page(request, status=400)
    return _users_page(request, invite_url=request.build_absolute_uri(created.link))


@require_POST
@admin_page
def user_role(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _user(user_id)
    role = request.POST.get("role", "")
    try:
        services.user_set_role(user=user, role=role, by=request.user)
    except ApiError as exc:
        return _user_row(request, user, error=exc.message)
    return _user_row(request, user, notice=f"role is now {role}.")


@require_POST
@admin_page
def user_active(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _user(user_id)
    active = request.POST.get("active") == "true"
    try:
        services.user_set_active(user=user, active=active, by=request.user)
    except ApiError as exc:
        return _user_row(request, user, error=exc.message)
    return _user_row(request, user, notice="enabled." if active else "disabled.")


@require_POST
@admin_page
def user_credits(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _user(user_id)
    form = CreditsForm(request.POST)
    if not form.is_valid():
        return _user_row(request, user, error=f"{form_problem(form)} An amount is dollars, such as 5 or -1.50.")
    try:
        entry = services.credits_top_up(user=user, amount=form.cleaned_data["amount"],
                                        note=form.cleaned_data["note"], by=request.user)
    except ApiError as exc:
        return _user_row(request, user, error=exc.message)
    return _user_row(request, user, notice=f"balance is now ${usd(entry.balance_after)}.")


def _upstream_keys_page(request: HttpRequest, *, status: int = 200, **extra) -> HttpResponse:
    from datetime import UTC, datetime

    from chat.proxy.pool import pool_report

    health = pool_report()
    for row in health:
        row["until"] = datetime.fromtimestamp(row["until"], tz=UTC) if row["until"] else None
    return render(request, "console/upstream_keys.html", {
        "keys": selectors.upstream_key_list(), "health": health, "free_rpm": settings.GATEWAY.openrouter_free_rpm,
        "free_rpd": settings.GATEWAY.openrouter_free_rpd, **extra}, status=status)


@require_GET
@admin_page
def upstream_keys_page(request: HttpRequest) -> HttpResponse:
    return _upstream_keys_page(request)


@require_POST
@admin_page
def upstream_key_add(request: HttpRequest) -> HttpResponse:
    form = PoolKeyForm(request.POST)
    try:
        if not form.is_valid():
            raise ApiError(form_problem(form))
        record = services.upstream_key_add(api_key=form.cleaned_data["api_key"], label=form.cleaned_data["label"],
                                           account=form.cleaned_data["account"])
    except ApiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Key …{record.last4} is in the pool.")
    return redirect("console-upstream-keys")


@require_POST
@admin_page
def upstream_key_limits(request: HttpRequest, upstream_key_id: int) -> HttpResponse:
    record = found(selectors.upstream_key_get(key_id=upstream_key_id), "No such key.")
    form = PoolKeyLimitsForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{form_problem(form)} A limit is a whole number of requests, or blank for the default.")
        return redirect("console-upstream-keys")
    services.upstream_key_set_limits(record=record, **form.cleaned_data)
    messages.success(request, f"Key …{record.last4}: known limits saved.")
    return redirect("console-upstream-keys")


@require_POST
@admin_page
def upstream_keys_import(request: HttpRequest) -> HttpResponse:
    """Import keys from a file or pasted text; refused input keeps the pasted text and names the bad line."""
    upload = request.FILES.get("file")
    pasted = "" if upload else request.POST.get("keys", "")
    raw = upload.read(IMPORT_MAX_BYTES + 1) if upload else pasted.encode()
    form = PoolImportForm(request.POST)
    error = ""
    if not form.is_valid():
        error = form_problem(form)
    elif len(raw) > IMPORT_MAX_BYTES:
        error = "The file is larger than 1 MB."
    else:
        try:
            result = services.upstream_keys_import(text=raw.decode("utf-8"), account=form.cleaned_data["account"])
        except UnicodeDecodeError:
            error = "The file is not UTF-8 text."
        except ApiError as exc:
            error = exc.message + ("" if pasted else " (in the file)")
    if error:  # the admin's own paste comes back in the form (never stored, never logged) to be corrected
        return _upstream_keys_page(request, status=400, import_error=error, import_text=pasted[:IMPORT_MAX_BYTES],
                                   import_account=request.POST.get("account", "")[:100])
    messages.success(request, f"Imported: {result['added']} added, {result['existing']} already in the pool.")
    return redirect("console-upstream-keys")


def _pool_key(key_id: int) -> UpstreamKey:
    return found(selectors.upstream_key_get(key_id=key_id), "No such pool key.")


@require_POST
@admin_page
def upstream_key_enabled(request: HttpRequest, pool_key_id: int) -> HttpResponse:
    record = _pool_key(pool_key_id)
    wanted = request.POST.get("enabled", "")
    if wanted not in ("true", "false"):
        messages.error(request, "Say enabled=true or enabled=false.")
        return _upstream_keys_page(request, status=400)
    services.upstream_key_set_enabled(record=record, enabled=wanted == "true")
    messages.success(request, f"Key …{record.last4} is {'back in' if record.enabled else 'out of'} the pool.")
    return redirect("console-upstream-keys")


@require_POST
@admin_page
def upstream_key_remove(request: HttpRequest, pool_key_id: int) -> HttpResponse:
    record = _pool_key(pool_key_id)
    services.upstream_key_delete(record=record)
    messages.success(request, f"Key …{record.last4} is deleted.")
    return redirect("console-upstream-keys")


@require_POST
@admin_page
def upstream_key_test(request: HttpRequest, pool_key_id: int) -> HttpResponse:
    """Ask the upstream about one stored key (``GET /key``) and say what it answered."""
    record = _pool_key(pool_key_id)
    try:
        info = upstream_check.pool_key_check(record)
    except ApiError as exc:
        messages.error(request, f"Key …{record.last4}: {exc.message.replace('; nothing was saved', '')}")
    else:
        messages.success(request, f"Key …{record.last4} works ({info.summary()}).")
    return redirect("console-upstream-keys")
