from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog

from chat.metrics import metrics

urlpatterns = [
    path("chat/", include("chat.urls")),
    path("accounts/", include("accounts.urls")),
    # The header's language switcher posts to i18n/setlang/ (Django's set_language view),
    # which keeps the choice in a cookie: the pages keep one URL in every language, the
    # blog's /chat/ and /chat/<room>/, where i18n_patterns would make them /ja/chat/ …
    path("i18n/", include("django.conf.urls.i18n")),
    # The room page's texts for room.js, in the page's language: the chat's own catalog
    # (djangojs, in LOCALE_PATHS), without the admin's
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["chat"]), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    # What the chat refused or dropped, for Prometheus: local or staff requests only
    path("metrics", metrics, name="metrics"),
    path("", RedirectView.as_view(pattern_name="chat:index")),
]
