"""``seed`` and ``create_api_key`` as an operator runs them."""

from __future__ import annotations

import io
import re

import openai
import pytest
from django.core.management import CommandError, call_command

from accounts.models import GatewayKey, Role, User
from accounts.secrets_util import hash_secret
from models_catalog.models import Provider
from testing.factories import make_user, sync_catalog


def _run(*args: str) -> list[str]:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def test_seed_creates_the_admin_once_and_prints_the_password_once(api):
    first = _run("seed")
    shown = [line for line in first if "password:" in line]
    assert len(shown) == 1
    password = shown[0].rsplit("password: ", 1)[1].strip()
    admin = User.objects.get(email="admin@localhost")
    assert admin.role == Role.ADMIN and admin.is_superuser and admin.check_password(password)
    assert Provider.objects.filter(slug="openrouter").count() == 1

    second = "\n".join(_run("seed"))
    assert "already exists" in second and password not in second and "password:" not in second
    assert User.objects.filter(role=Role.ADMIN).count() == 1 and Provider.objects.count() == 1
    assert api.get("/auth/me", headers=api.login(admin, password=password)).json()["role"] == "admin"


def test_create_api_key_prints_a_working_secret_alone_on_the_last_line(gateway):
    sync_catalog()
    user = make_user()
    lines = _run("create_api_key", "--email", user.email.upper(), "--name", "ci")
    secret = lines[-1]
    assert re.fullmatch(r"sk-gw-[A-Za-z0-9_-]{43}", secret)
    assert all(secret not in line for line in lines[:-1])
    key = GatewayKey.objects.get(user=user)
    assert key.name == "ci" and key.key_hash == hash_secret(secret)
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=secret, max_retries=0)
    reply = client.chat.completions.create(model="meta-llama/llama-3.3-70b-instruct:free",
                                           messages=[{"role": "user", "content": "Hi"}])
    assert reply.choices[0].message.content


def test_create_api_key_for_an_unknown_email_fails(db):
    with pytest.raises(CommandError, match="no user"):
        _run("create_api_key", "--email", "ghost@example.com")
    assert not GatewayKey.objects.exists()


def test_seed_with_key_gives_a_new_admin_one_working_key_printed_once(gateway):
    first = _run("seed", "--with-key")
    shown = [line for line in first if line.startswith("gateway key for admin@localhost")]
    assert len(shown) == 1
    secret = shown[0].rsplit(": ", 1)[1]
    admin = User.objects.get(email="admin@localhost")
    assert GatewayKey.objects.get(user=admin).key_hash == hash_secret(secret)
    sync_catalog()
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=secret, max_retries=0)
    reply = client.chat.completions.create(model="meta-llama/llama-3.3-70b-instruct:free",
                                           messages=[{"role": "user", "content": "Hi"}])
    assert reply.choices[0].message.content

    second = "\n".join(_run("seed", "--with-key"))
    assert "gateway key" not in second and "sk-gw-" not in second
    assert GatewayKey.objects.filter(user=admin).count() == 1


def test_seed_without_with_key_creates_no_key(db):
    lines = _run("seed")
    assert not any("sk-gw-" in line for line in lines)
    assert not GatewayKey.objects.exists()
