"""The upstream key pool page shows each key's health as the routing state sees it, never a secret."""

from contextlib import closing

import openai
import pytest

from testing.browser import session_client
from testing.env import POOL_KEYS
from testing.factories import make_key, make_user, openai_client, sync_catalog


def test_pool_page_shows_rate_limited_accounts_with_masked_keys(gateway, sim):
    sync_catalog()
    user = make_user()
    client = openai_client(gateway.url, make_key(user))
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="meta-llama/llama-3.3-70b-instruct:free",
                                       messages=[{"role": "user", "content": "hi"}],
                                       extra_body={"sim": {"fault": "429_minute"}})
    admin = make_user(admin=True)
    with closing(session_client(gateway.url, admin)) as http:
        page = http.get("/console/upstream-keys/").text
    assert page.count("account_rate_limited") == 2
    assert "<code>…1111</code>" in page and "<code>…2222</code>" in page
    for secret in POOL_KEYS:
        assert secret not in page
