"""The one list shape of the management API: ``{count, next, previous, results}``."""

from rest_framework.pagination import PageNumberPagination


class PageSizePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "size"
    max_page_size = 500
