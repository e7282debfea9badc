"""The one list shape of the management API: ``{count, next, previous, results}``."""

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response


class PageSizePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "size"
    max_page_size = 500


def paginated(request, view, items, out=None, *, page_out=None) -> Response:
    """Answer one page of ``items`` in the list shape: each item through ``out``, or the page through ``page_out``
    (for outputs that load something once per page)."""
    paginator = PageSizePagination()
    page = paginator.paginate_queryset(items, request, view=view)
    results = page_out(page) if page_out is not None else [out(item) for item in page]
    return paginator.get_paginated_response(results)
