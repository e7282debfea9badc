"""``/favicon.ico``: browsers ask for it on every page; it answers with the site's SVG icon."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET


@require_GET
@cache_control(public=True, max_age=86400)
def favicon(request):
    path = finders.find("favicon.svg")
    if not path:
        raise Http404("No icon.")
    return FileResponse(open(path, "rb"), content_type="image/svg+xml")
