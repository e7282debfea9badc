"""The playground: a user's conversations with their models, over the in-process gateway client.

``services`` holds the writes (conversations, turns, sending), ``selectors`` the reads, ``apis`` the
REST endpoints, ``views`` the pages and ``consumers`` the streamed answer (SSE over POST).
"""
