"""Inbound APIs other than chat completions, each translated to the gateway's one chat path (chat/proxy/exchange.py)."""
