from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.views import RedirectURLMixin
from django.shortcuts import resolve_url
from django.views.generic import CreateView

from .forms import SignUpForm


class SignUpView(RedirectURLMixin, CreateView):
    """Create a user, log them in, and send them on like LoginView does (a safe ?next=)."""

    form_class = SignUpForm
    template_name = "registration/signup.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        # The password was just set: no check to make, so no throttle to pass
        login(self.request, self.object, backend="django.contrib.auth.backends.ModelBackend")
        return response

    def get_default_redirect_url(self):
        return resolve_url(settings.LOGIN_REDIRECT_URL)

    def get_context_data(self, **kwargs):
        # Only a safe URL reaches the form's hidden field
        kwargs[self.redirect_field_name] = self.get_redirect_url()
        return super().get_context_data(**kwargs)
