from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from axes.signals import user_locked_out

        from .throttle import count_lockout

        user_locked_out.connect(count_lockout, dispatch_uid="accounts.count_lockout")
