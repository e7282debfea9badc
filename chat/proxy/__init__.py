"""The /v1 hot path: a bare ASGI app, async end to end (docs/decisions/0001-hot-path.md)."""
