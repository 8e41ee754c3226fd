"""The index page's form: the room a user names, checked by the same rule as every room URL."""

from django import forms
from django.core.exceptions import ValidationError

from .rooms import MAX_ROOM_NAME_LENGTH, InvalidRoomName, clean_room_name


class RoomForm(forms.Form):
    # Not stripped and not required: clean_room_name() says what is wrong, in one place
    room = forms.CharField(
        required=False,
        strip=False,
        widget=forms.TextInput(
            attrs={
                # The tutorial's id, which its readers' scripts and tests look for
                "id": "room-name-input",
                "maxlength": MAX_ROOM_NAME_LENGTH,
                "placeholder": "demoroom, 雑談, café…",
                "autocomplete": "off",
                "autofocus": True,
            }
        ),
    )

    def clean_room(self) -> str:
        try:
            return clean_room_name(self.cleaned_data["room"])
        except InvalidRoomName as problem:
            raise ValidationError(str(problem)) from None
