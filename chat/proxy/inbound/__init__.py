"""Inbound APIs other than chat completions, each translated to a chat-completions body and served by the one
path (``chat.proxy.exchange.serve``), with a ``Delivery`` that turns the answer back into that API's shape."""
