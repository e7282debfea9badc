"""Response headers are always encodable: a model id in any script is served, its header percent-encoded."""

from urllib.parse import unquote

import httpx

from chat.proxy.asgi_io import encode_headers
from testing.factories import make_key, make_user, sync_catalog

MODEL = "acme/modèle-模型:free"


def test_header_values_outside_visible_ascii_are_percent_encoded_utf8():
    raw = dict(encode_headers({"x-a": "plain 100%", "x-b": "café 模型", "x-c": "evil\r\nset-cookie: a=b"}))
    assert raw[b"x-a"] == b"plain 100%"
    assert raw[b"x-b"] == b"caf%C3%A9 %E6%A8%A1%E5%9E%8B"
    assert unquote(raw[b"x-b"].decode()) == "café 模型"
    assert b"\r" not in raw[b"x-c"] and b"\n" not in raw[b"x-c"]
    assert unquote(raw[b"x-c"].decode()) == "evil\r\nset-cookie: a=b"


def test_a_catalog_model_with_a_non_latin1_id_is_served_with_its_id_percent_encoded(gateway, sim, http):
    template = httpx.get(f"{sim.base_url}/models").json()["data"][0]
    sim.configure(add_models=[{**template, "id": MODEL, "canonical_slug": "acme/modele", "name": "Modèle 模型",
                               "pricing": {**template["pricing"], "prompt": "0", "completion": "0"}}])
    sync_catalog()
    secret = make_key(make_user())
    for stream in (False, True):
        r = http.post(f"{gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"},
                      json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": stream})
        assert r.status_code == 200, r.text
        assert unquote(r.headers["x-gateway-model"]) == MODEL
