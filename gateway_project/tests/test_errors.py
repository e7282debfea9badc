"""Django's own 404 (no route matched) takes the management API's shape under /api/, and stays a page elsewhere."""

from __future__ import annotations

from accounts.tests.conftest import assert_error
from testing.browser import jwt_headers
from testing.factories import make_user


def test_an_unmatched_api_path_answers_the_api_error_shape_and_a_page_path_a_page(gateway, http):
    headers = jwt_headers(make_user(admin=True))
    body = assert_error(http.get(f"{gateway.url}/api/admin/keys/-1", headers=headers), 404)
    assert body == {"message": "Not found.", "extra": {}}
    page = http.get(f"{gateway.url}/no-such-page/")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
