from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from chat.metrics import metrics

urlpatterns = [
    path("chat/", include("chat.urls")),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    # What the chat refused or dropped, for Prometheus: local or staff requests only
    path("metrics", metrics, name="metrics"),
    path("", RedirectView.as_view(pattern_name="chat:index")),
]
