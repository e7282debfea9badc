"""Pages: log in, log out, approve a device login."""

from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from accounts import services
from gateway_project.errors import ApiError


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate="20/m", method="POST", block=True)
@ratelimit(key="post:email", rate="10/m", method="POST", block=True)
def login_page(request):
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    context = {"next": next_url, "email": "", "error": ""}
    if request.method == "POST":
        email = request.POST.get("email", "").strip().lower()
        user = authenticate(request, email=email, password=request.POST.get("password", ""))
        if user is not None:
            login(request, user)
            return redirect(next_url)
        context.update(email=email, error="Email or password is wrong, or the account is disabled.")
        return render(request, "accounts/login.html", context, status=400)
    return render(request, "accounts/login.html", context)


@require_POST
def logout_page(request):
    logout(request)
    return redirect("login")


@login_required
def home(request):
    return render(request, "home.html")


@login_required
@require_http_methods(["GET", "POST"])
def device_page(request):
    context = {"code": request.GET.get("code", ""), "error": "", "approved": False}
    if request.method == "POST":
        code = request.POST.get("code", "")
        try:
            services.device_code_approve(user_code=code, user=request.user,
                                         approve=request.POST.get("decision") != "deny")
            context["approved"] = request.POST.get("decision") != "deny"
            if not context["approved"]:
                context["error"] = "Device denied."
        except ApiError as exc:
            context.update(code=code, error=exc.message)
    return render(request, "accounts/device.html", context)
