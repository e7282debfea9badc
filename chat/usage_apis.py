"""``GET /api/user/usage``."""

from rest_framework.response import Response
from rest_framework.views import APIView

from chat.usage import user_usage


class UserUsageApi(APIView):
    def get(self, request):
        return Response(user_usage(user=request.user))
