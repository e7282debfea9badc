"""Gateway keys are long random secrets; the database holds only their SHA-256 and no plaintext upstream key."""

from __future__ import annotations

import hashlib
import string

from django.apps import apps
from django.db import connection

from accounts.secrets_util import KEY_PREFIX, new_gateway_secret
from testing.factories import make_user

BYOK = "sk-or-v1-byok-plaintext-abcdef123456"
POOL = "sk-or-v1-pool-plaintext-zyxwvu987654"


def test_gateway_secrets_have_the_prefix_and_at_least_128_random_bits():
    secrets_ = {new_gateway_secret() for _ in range(200)}
    assert len(secrets_) == 200
    alphabet = set(string.ascii_letters + string.digits + "-_")
    for secret in secrets_:
        assert secret.startswith(KEY_PREFIX)
        body = secret.removeprefix(KEY_PREFIX)
        assert set(body) <= alphabet and len(body) * 6 >= 128


def _accounts_rows_as_text() -> str:
    """Every row of every accounts table, as JSON text straight from PostgreSQL."""
    dumps = []
    with connection.cursor() as cursor:
        for model in apps.get_app_config("accounts").get_models():
            cursor.execute(f'SELECT coalesce(json_agg(t)::text, \'\') FROM "{model._meta.db_table}" t')
            dumps.append(cursor.fetchone()[0])
    return "\n".join(dumps)


def test_the_database_holds_no_plaintext_secret(api):
    admin = make_user(admin=True)
    user = make_user()
    headers = api.login(user)
    created = api.post("/user/keys", headers=headers, json={"name": "scan"}).json()
    assert api.put("/user/api-key", headers=headers, json={"apiKey": BYOK}).status_code == 200
    assert api.post("/admin/upstream-keys", headers=api.login(admin), json={"apiKey": POOL}).status_code == 201

    text = _accounts_rows_as_text()
    secret = created["secret"]
    assert hashlib.sha256(secret.encode()).hexdigest() in text
    for plaintext in (secret, secret.removeprefix(KEY_PREFIX), BYOK, POOL):
        assert plaintext not in text
    assert BYOK[-4:] in text and POOL[-4:] in text  # last4 is all that is kept in clear
