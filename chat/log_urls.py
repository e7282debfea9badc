"""REST endpoints of the request log and the admin stats, mounted under /api/."""

from django.urls import path

from chat import log_apis

urlpatterns = [
    path("admin/stats", log_apis.AdminStatsApi.as_view()),
    path("admin/chat-logs", log_apis.AdminChatLogListApi.as_view()),
    path("admin/chat-logs/export", log_apis.AdminChatLogExportApi.as_view()),
    path("admin/chat-logs/<int:log_id>", log_apis.AdminChatLogDetailApi.as_view()),
    path("user/chat-logs", log_apis.UserChatLogListApi.as_view()),
    path("user/chat-logs/<int:log_id>", log_apis.UserChatLogDetailApi.as_view()),
]
