import pytest

from testing.factories import make_key, make_user, openai_client, sync_catalog

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
QWEN = "qwen/qwen3-coder:free"
MISTRAL = "mistralai/mistral-small-3.2-24b-instruct:free"
GEMMA = "google/gemma-3-27b-it:free"


@pytest.fixture
def caller(gateway):
    """A user with a gateway key, the simulator's free models enabled, and an SDK client."""
    sync_catalog()
    user = make_user()
    secret = make_key(user)

    class Caller:
        pass

    c = Caller()
    c.user, c.secret, c.client = user, secret, openai_client(gateway.url, secret)
    return c
