from django.urls import path

from chat import usage_apis

urlpatterns = [path("user/usage", usage_apis.UserUsageApi.as_view())]
