from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError

from chat.authors import GUEST_PREFIX, PLAIN_GUEST_NAME, is_guest_name


class SignUpForm(UserCreationForm):
    error_messages = {
        **UserCreationForm.error_messages,
        "guest_name": (
            f"“{PLAIN_GUEST_NAME}” and names that start with “{GUEST_PREFIX}” are how the chat "
            "shows its guests. Please choose another username."
        ),
    }

    def clean_username(self):
        # Checked first: a guest's name is refused for that reason, even if a user has it
        username = self.cleaned_data.get("username")
        if username and is_guest_name(username):
            raise ValidationError(self.error_messages["guest_name"], code="guest_name")
        return super().clean_username()
