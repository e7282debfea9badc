"""Pages: log in and out, register, change password, approve a device login, settings and usage."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import device_flow, registration, selectors, services, throttles
from accounts.forms import CredentialsForm, GatewayKeyCacheForm, GatewayKeyForm, PasswordChangeForm, UpstreamKeyForm
from gateway_project.errors import ApiError, found
from gateway_project.forms import form_problem
from gateway_project.validators import EMAIL_MAX_LENGTH
from models_catalog import selectors as catalog_selectors
from models_catalog.services import user_model_toggle


def _problem(exc: Exception) -> str:
    """The message a person should read for a refused form (validation errors are joined)."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return getattr(exc, "message", "") or str(exc)


@require_http_methods(["GET", "POST"])
@throttles.auth_throttled(throttles.LOGIN)
def login_page(request):
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    context = {"next": next_url, "email": "", "error": "",
               "registration_open": django_settings.GATEWAY.registration_open}
    if request.method == "POST":
        email = request.POST.get("email", "").strip().lower()
        user = authenticate(request, email=email, password=request.POST.get("password", ""))
        if user is not None:
            login(request, user)
            return redirect(next_url)
        context.update(email=email, error="Email or password is wrong, or the account is disabled.")
        return render(request, "accounts/login.html", context, status=400)
    return render(request, "accounts/login.html", context)


@require_http_methods(["GET", "POST"])
@throttles.auth_throttled(throttles.REGISTER)
def register_page(request):
    """Open registration, or an invite link's (``?invite=``); otherwise a 403 page saying to ask an admin."""
    invite = (request.POST.get("invite") or request.GET.get("invite") or "").strip()
    if not registration.registration_allowed(invite):
        error = registration.BAD_INVITE_MESSAGE if invite else registration.CLOSED_MESSAGE
        return render(request, "accounts/login.html", {
            "next": "/", "email": "", "registration_open": False, "error": error,
        }, status=403)
    context = {"email": "", "error": "", "invite": invite}
    if request.method == "POST":
        form = CredentialsForm(request.POST)
        email = form.data.get("email", "").strip().lower()[:EMAIL_MAX_LENGTH]
        if not form.is_valid():
            context.update(email=email, error=form_problem(form))
            return render(request, "accounts/register.html", context, status=400)
        try:
            user = registration.user_register(email=form.cleaned_data["email"], password=form.cleaned_data["password"],
                                              invite_token=invite)
        except (ApiError, ValidationError) as exc:
            context.update(email=email, error=_problem(exc))
            return render(request, "accounts/register.html", context, status=getattr(exc, "status_code", 400))
        login(request, user)
        messages.success(request, "Welcome! Pick a model and say hello.")
        return redirect("playground")
    return render(request, "accounts/register.html", context)


@require_POST
def logout_page(request):
    logout(request)
    return redirect("login")


@login_required
def home(request):
    return redirect("playground")


@login_required
@require_http_methods(["GET", "POST"])
def change_password_page(request):
    context = {"error": "", "changed": False}
    if request.method == "POST":
        form = PasswordChangeForm(request.POST)
        try:
            if not form.is_valid():
                raise ValidationError(form_problem(form))
            services.user_change_password(user=request.user, old_password=form.cleaned_data["old_password"],
                                          new_password=form.cleaned_data["new_password"])
        except (ApiError, ValidationError) as exc:
            context["error"] = _problem(exc)
            return render(request, "accounts/password.html", context, status=400)
        update_session_auth_hash(request, request.user)
        context["changed"] = True
    return render(request, "accounts/password.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def device_page(request):
    context = {"code": request.GET.get("code", ""), "error": "", "approved": False}
    if request.method == "POST":
        code = request.POST.get("code", "")
        try:
            device_flow.device_code_approve(user_code=code, user=request.user,
                                         approve=request.POST.get("decision") != "deny")
            context["approved"] = request.POST.get("decision") != "deny"
            if not context["approved"]:
                context["error"] = "Device denied."
        except ApiError as exc:
            context.update(code=code, error=exc.message)
    return render(request, "accounts/device.html", context)


# ---------------------------------------------------------------- settings


def _settings_context(request, **extra) -> dict:
    off = catalog_selectors.user_disabled_model_ids(user_id=request.user.id)
    models = [(m, m.model_id not in off) for m in catalog_selectors.model_list(enabled_only=True)]
    return {
        "byok": selectors.user_upstream_key_status(user=request.user),
        "keys": selectors.gateway_key_list(user=request.user).order_by("-created_at"),
        "models": models,
        "endpoint": request.build_absolute_uri("/v1"),
        "error": "",
        **extra,
    }


def _settings_section(request, section: str, status: int = 200, **extra):
    """Render one section for htmx, or go back to the whole page (with a flash) for a plain form post."""
    extra["error_in"] = section
    if request.htmx:
        return render(request, f"accounts/settings.html#{section}", _settings_context(request, **extra), status=status)
    if extra.get("error"):
        messages.error(request, extra["error"])
    elif extra.get("created"):
        return render(request, "accounts/settings.html", _settings_context(request, **extra))
    return redirect("settings")


@login_required
@require_GET
def settings_page(request):
    return render(request, "accounts/settings.html", _settings_context(request))


@login_required
@require_POST
def upstream_key_set(request):
    form = UpstreamKeyForm(request.POST)
    if not form.is_valid():
        return _settings_section(request, "byok", status=400, error=form_problem(form))
    try:
        services.user_upstream_key_set(user=request.user, api_key=form.cleaned_data["api_key"])
    except ApiError as exc:
        return _settings_section(request, "byok", status=400, error=exc.message)
    return _settings_section(request, "byok", saved=True)


@login_required
@require_POST
def upstream_key_delete(request):
    services.user_upstream_key_delete(user=request.user)
    return _settings_section(request, "byok")


@login_required
@require_POST
def gateway_key_create(request):
    form = GatewayKeyForm(request.POST)
    if not form.is_valid():
        error = ("Give the key a name, such as the app it is for." if not form.data.get("name", "").strip()
                 else form_problem(form))
        return _settings_section(request, "keys", status=400, error=error)
    created = services.gateway_key_create(user=request.user, name=form.cleaned_data["name"])
    return _settings_section(request, "keys", created=created)


def _own_key(request, key_id: int):
    key = found(selectors.gateway_key_get(key_id=key_id, user=request.user), "No such key.")
    return key


@login_required
@require_POST
def gateway_key_toggle(request, key_id: int):
    key = _own_key(request, key_id)
    services.gateway_key_update(key=key, enabled=not key.enabled)
    return _settings_section(request, "keys")


@login_required
@require_POST
def gateway_key_cache_ttl(request, key_id: int):
    key = _own_key(request, key_id)
    form = GatewayKeyCacheForm(request.POST)
    if not form.is_valid():
        return _settings_section(request, "keys", status=400, error=form_problem(form))
    services.gateway_key_update(key=key, cache_ttl=form.cleaned_data["cache_ttl"])
    return _settings_section(request, "keys")


@login_required
@require_POST
def gateway_key_delete(request, key_id: int):
    services.gateway_key_delete(key=_own_key(request, key_id))
    return _settings_section(request, "keys")


@login_required
@require_POST
def my_model_toggle(request, model_pk: int):
    model = found(catalog_selectors.model_list(enabled_only=True).filter(pk=model_pk).first(), "No such model.")
    user_model_toggle(user_id=request.user.id, model=model)
    return _settings_section(request, "models")
