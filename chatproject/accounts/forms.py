from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from chat.authors import GUEST_PREFIX, PLAIN_GUEST_NAME, is_guest_name

from .lookalikes import skeleton, skeletons

# What a guest's name looks like, as skeletons: "guеst-1" (Cyrillic е) is a guest's too
GUEST_LOOKS = (skeleton(PLAIN_GUEST_NAME), skeleton(GUEST_PREFIX))


def looks_like_a_guest(username: str) -> bool:
    return is_guest_name(username) or any(
        shown == GUEST_LOOKS[0] or shown.startswith(GUEST_LOOKS[1]) for shown in skeletons(username)
    )


def lookalike_user(username: str) -> str | None:
    """An existing username that looks like this one (same TR39 skeleton), if any; the
    same name in another case is UserCreationForm's to refuse, with its own words.

    Every name is compared: a chat has hundreds or thousands of users, a sign-up is rare.
    """
    wanted, folded = skeletons(username), username.casefold()
    names = get_user_model().objects.values_list("username", flat=True).iterator()
    return next(
        (
            name
            for name in names
            if name.casefold() != folded and not wanted.isdisjoint(skeletons(name))
        ),
        None,
    )


class SignUpForm(UserCreationForm):
    error_messages = {
        **UserCreationForm.error_messages,
        # Lazy: shown in the language of the page that shows them
        "guest_name": format_lazy(
            _(
                "“{guest}” and names that start with “{prefix}” (or look like it) are how "
                "the chat shows its guests. Please choose another username."
            ),
            guest=PLAIN_GUEST_NAME,
            prefix=GUEST_PREFIX,
        ),
        "lookalike": _(
            "This username looks like one that is taken (letters from another alphabet, or "
            "another case, read the same). Please choose another username."
        ),
    }

    def clean_username(self):
        # Checked first: a guest's name is refused for that reason, even if a user has it
        username = self.cleaned_data.get("username")
        if username and looks_like_a_guest(username):
            raise ValidationError(self.error_messages["guest_name"], code="guest_name")
        username = super().clean_username()
        if username and lookalike_user(username):
            raise ValidationError(self.error_messages["lookalike"], code="lookalike")
        return username
