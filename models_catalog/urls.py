"""REST endpoints of this app, mounted under /api/."""

urlpatterns: list = []
