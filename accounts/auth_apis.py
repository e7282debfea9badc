"""REST endpoints for signing in and out: registration (open or by invite), login, JWT refresh and
logout, password change, the device flow; and the admin's invites."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.decorators import method_decorator
from django_ratelimit.decorators import ratelimit
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import device_flow, registration, services, throttles, tokens
from accounts.permissions import IsAdmin
from accounts.serializers import user_out
from gateway_project.errors import ApiError
from gateway_project.validators import PASSWORD_MAX_LENGTH, api_email


class CredentialsIn(serializers.Serializer):
    email = api_email()
    password = serializers.CharField(max_length=PASSWORD_MAX_LENGTH)


class RegisterApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    class InputSerializer(CredentialsIn):
        invite = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    @method_decorator(throttles.auth_throttled(throttles.REGISTER))
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = registration.user_register(email=data.validated_data["email"],
                                          password=data.validated_data["password"],
                                          invite_token=data.validated_data["invite"])
        return Response({"id": user.id, "email": user.email, "role": user.role}, status=201)


class LoginApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @method_decorator(throttles.auth_throttled(throttles.LOGIN))
    def post(self, request):
        data = CredentialsIn(data=request.data)
        data.is_valid(raise_exception=True)
        email, password = data.validated_data["email"].lower(), data.validated_data["password"]
        user = authenticate(request, email=email, password=password)
        if user is None:
            raise ApiError("Email or password is wrong, or the account is disabled.", status_code=401)
        return Response(tokens.token_pair_issue(user=user))


class RefreshApi(APIView):
    """Exchange a refresh token for a new access token and a new refresh token (the old one is spent)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    class InputSerializer(serializers.Serializer):
        refresh = serializers.CharField()

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(tokens.refresh_token_rotate(raw=data.validated_data["refresh"]))


class LogoutApi(APIView):
    """End every JWT of the caller (access and refresh, on every device)."""

    success_status = "204"  # the schema's success answer (gateway_project.schema)

    def post(self, request):
        tokens.user_tokens_revoke(user=request.user)
        return Response(status=204)


class ChangePasswordApi(APIView):
    class InputSerializer(serializers.Serializer):
        oldPassword = serializers.CharField(max_length=PASSWORD_MAX_LENGTH)
        newPassword = serializers.CharField(max_length=PASSWORD_MAX_LENGTH)

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_change_password(
            user=request.user,
            old_password=data.validated_data["oldPassword"],
            new_password=data.validated_data["newPassword"],
        )
        # Every token issued before is revoked by the change; the caller gets a fresh pair.
        return Response({"changed": True, **tokens.token_pair_issue(user=request.user)})


class MeApi(APIView):
    def get(self, request):
        return Response(user_out(request.user))


class DeviceCodeApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @method_decorator(ratelimit(key="ip", rate="10/m", method="POST", block=True))
    def post(self, request):
        record, device_code = device_flow.device_code_create()
        base = request.build_absolute_uri("/device/")
        return Response(
            {
                "device_code": device_code,
                "user_code": record.user_code,
                "verification_uri": base,
                "verification_uri_complete": f"{base}?code={record.user_code}",
                "expires_in": round((record.expires_at - record.created_at).total_seconds()),
                "interval": record.interval,
            }
        )


class DeviceTokenApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    class InputSerializer(serializers.Serializer):
        device_code = serializers.CharField(max_length=100)

    @method_decorator(ratelimit(key="ip", rate="60/m", method="POST", block=True))
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = device_flow.device_code_poll(device_code=data.validated_data["device_code"])
        return Response(tokens.token_pair_issue(user=user))


class AdminInviteCreateApi(APIView):
    """Create a single-use, expiring registration link (while registration is closed)."""

    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        expiresInHours = serializers.IntegerField(min_value=1, max_value=registration.INVITE_MAX_HOURS,
                                                  required=False, default=registration.INVITE_DEFAULT_HOURS)

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = registration.invite_create(by=request.user, hours=data.validated_data["expiresInHours"])
        return Response({"id": created.invite.id, "link": created.link, "url": request.build_absolute_uri(created.link),
                         "expiresAt": created.invite.expires_at.isoformat()}, status=201)
