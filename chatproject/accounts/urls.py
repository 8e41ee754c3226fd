from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("signup/", views.SignUpView.as_view(), name="signup"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    # POST only (Django 5): the page's "Log out" is a small form
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
