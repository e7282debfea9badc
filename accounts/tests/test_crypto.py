"""AES-256-GCM for stored upstream secrets, and rotation of the master key."""

from __future__ import annotations

import base64
import dataclasses
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from accounts import crypto, services
from accounts.models import UpstreamKey, UserUpstreamKey
from models_catalog.models import Provider
from testing.factories import make_user
from testing.servers import ROOT


def _with_master(new: str, previous: list[str] | None = None):
    cfg = dataclasses.replace(settings.GATEWAY, encryption_master_key=new, encryption_previous_keys=previous or [])
    return override_settings(GATEWAY=cfg)


def test_each_value_gets_a_fresh_nonce_and_a_version_tag():
    first, second = crypto.encrypt("sk-or-same"), crypto.encrypt("sk-or-same")
    assert first != second
    for stored in (first, second):
        version, kid, payload = stored.split("$")
        assert version == "v1" and kid == crypto.key_id(settings.GATEWAY.encryption_master_key)
        assert "sk-or-same" not in stored and len(base64.b64decode(payload)) == 12 + len("sk-or-same") + 16
        assert crypto.decrypt(stored) == "sk-or-same"
    assert base64.b64decode(first.split("$")[2])[:12] != base64.b64decode(second.split("$")[2])[:12]


def test_a_tampered_value_does_not_decrypt():
    stored = crypto.encrypt("sk-or-tamper-me")
    version, kid, payload = stored.split("$")
    raw = bytearray(base64.b64decode(payload))
    raw[-1] ^= 0x01
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(f"{version}${kid}${base64.b64encode(bytes(raw)).decode()}")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(f"v2${kid}${payload}")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("plaintext-not-ours")


def test_a_value_under_an_unknown_key_does_not_decrypt():
    stored = crypto.encrypt("sk-or-other", master_hex=secrets.token_hex(32))
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(stored)


def test_values_under_a_previous_key_still_decrypt():
    old = settings.GATEWAY.encryption_master_key
    stored = crypto.encrypt("sk-or-written-before")
    with _with_master(secrets.token_hex(32), previous=[old]):
        assert crypto.decrypt(stored) == "sk-or-written-before"
        assert not crypto.is_current(stored)
    with _with_master(secrets.token_hex(32)), pytest.raises(crypto.DecryptionError):
        crypto.decrypt(stored)


def _manage(*args: str, master: str) -> subprocess.CompletedProcess:
    db = connection.settings_dict
    env = {**os.environ, "ENCRYPTION_MASTER_KEY": master, "ENCRYPTION_PREVIOUS_KEYS": "",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_rotate_encryption_key_re_encrypts_every_stored_secret(transactional_db, sim):
    old, new = settings.GATEWAY.encryption_master_key, secrets.token_hex(32)
    user = make_user()
    services.user_upstream_key_set(user=user, api_key="sk-or-byok-rotate-1111")
    services.upstream_key_add(api_key="sk-or-pool-rotate-2222")
    Provider.objects.create(slug="other", name="Other", api_key_encrypted=crypto.encrypt("sk-prov-rotate-3333"),
                            api_key_last4="3333")
    before = {
        "byok": UserUpstreamKey.objects.get().encrypted,
        "pool": UpstreamKey.objects.get().encrypted,
        "provider": Provider.objects.get(slug="other").api_key_encrypted,
    }

    refused = _manage("rotate_encryption_key", master=new)
    assert refused.returncode != 0 and "could not be decrypted" in refused.stderr
    assert UserUpstreamKey.objects.get().encrypted == before["byok"]

    done = _manage("rotate_encryption_key", "--old-key", old, master=new)
    assert done.returncode == 0, done.stderr
    assert "re-encrypted 3 secret(s)" in done.stdout
    assert old not in done.stdout + done.stderr and new not in done.stdout + done.stderr

    after = {
        "byok": UserUpstreamKey.objects.get().encrypted,
        "pool": UpstreamKey.objects.get().encrypted,
        "provider": Provider.objects.get(slug="other").api_key_encrypted,
    }
    expected = {"byok": "sk-or-byok-rotate-1111", "pool": "sk-or-pool-rotate-2222", "provider": "sk-prov-rotate-3333"}
    with _with_master(new):
        for name, plaintext in expected.items():
            assert after[name] != before[name] and crypto.is_current(after[name])
            assert crypto.decrypt(after[name]) == plaintext
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(after["byok"])  # the old key alone no longer opens it

    again = _manage("rotate_encryption_key", "--old-key", old, master=new)
    assert again.returncode == 0 and "re-encrypted 0 secret(s)" in again.stdout


def test_rotate_encryption_key_rejects_a_malformed_old_key(transactional_db):
    result = _manage("rotate_encryption_key", "--old-key", "not-hex", master=secrets.token_hex(32))
    assert result.returncode != 0 and "64 hex" in result.stderr
