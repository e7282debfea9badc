"""A simulator of OpenRouter's API for tests and offline demos (see ``app.py``)."""
