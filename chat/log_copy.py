"""Request-log rows into PostgreSQL with one ``COPY`` per batch: the log writer's fast path.

``bulk_create`` builds a Model instance per row (two signals each), then an
``INSERT ... UNNEST`` whose arrays psycopg assembles in Python: a fifth of a
gateway worker's CPU at c=64 went there (docs/decisions/0024-log-rows-by-copy.md).
``COPY`` takes the rows as tuples, formatted by psycopg's C code.

``COPY`` cannot skip a conflicting row, so the caller (chat.logbuffer) falls back to
row-by-row inserts that can when a batch fails: a batch retried after a lost
connection (its rows already stored) or a row whose user was deleted meanwhile.
"""

from __future__ import annotations

import functools

from django.db import connection, transaction

from chat.log_storable import copy_columns, storable_values


def available() -> bool:
    """Whether the default database takes ``COPY`` (PostgreSQL; the embedded SQLite does not)."""
    return connection.vendor == "postgresql"


@functools.cache
def _statement() -> str:
    from chat.models import RequestLog

    quote = connection.ops.quote_name
    names, _ = copy_columns()
    return f"COPY {quote(RequestLog._meta.db_table)} ({', '.join(quote(n) for n in names)}) FROM STDIN"


def copy_rows(rows: list[dict]) -> None:
    """Store ``rows`` in one transaction, every one or none (the caller then finds the row at fault)."""
    with transaction.atomic(), connection.cursor() as cursor, cursor.copy(_statement()) as copy:
        for row in rows:
            copy.write_row(storable_values(row))
