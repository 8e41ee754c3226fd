"""Room names: which are accepted, and the channel-layer group each maps to."""

import re

import pytest

from chat.rooms import InvalidRoomName, clean_room_name, group_name_for

# What channels.layers.BaseChannelLayer.valid_group_name accepts
VALID_GROUP = re.compile(r"^[a-zA-Z\d\-_.]{1,99}$")


class TestCleanRoomName:
    @pytest.mark.parametrize(
        "name", ["demoroom", "雑談", "チャット", "café au lait", "AC-DC!?", "x" * 100, "a.b"]
    )
    def test_accepts_what_users_type(self, name):
        """Any Unicode text up to 100 characters, spaces and punctuation included, is a room."""
        assert clean_room_name(name) == name

    def test_normalises_unicode(self):
        """'café' typed with a combining accent names the same room as the one-character form."""
        assert clean_room_name("cafe\u0301") == "caf\u00e9"

    @pytest.mark.parametrize(
        ("name", "why"),
        [
            ("", "empty"),
            ("   ", "empty"),
            ("x" * 101, "at most 100"),
            ("a/b", "'/'"),
            ("..", "dots"),
            ("tab\there", "control"),
            ("\u202egnp.exe", "invisible"),  # a right-to-left override: shows as "exe.png"
            ("demo\u200broom", "invisible"),  # a zero-width space
            ("\ufeffdemo", "invisible"),  # a byte order mark
            ("demo\u2066", "invisible"),  # a bidi isolate
            ("demo ", "start or end with a space"),
            (" demo", "start or end with a space"),
            ("雑談\u3000", "start or end with a space"),  # the ideographic space an IME types
        ],
    )
    def test_refuses_with_a_reason(self, name, why):
        """Names that cannot be a room raise InvalidRoomName saying what is wrong."""
        with pytest.raises(InvalidRoomName, match=re.escape(why)):
            clean_room_name(name)


class TestGroupNameFor:
    def test_plain_names_stay_readable(self):
        """An ASCII name keeps its text, so Redis keys show which room they belong to."""
        assert group_name_for("demoroom") == "chat_demoroom"

    @pytest.mark.parametrize("name", ["雑談", "café", "a b", "x" * 100, "room.1", "Ω" * 100])
    def test_every_name_gives_a_valid_group(self, name):
        """Unicode, spaces, dots and 100-character names all map to valid group names."""
        assert VALID_GROUP.match(group_name_for(name))

    def test_different_rooms_never_share_a_group(self):
        """Names that look alike once made ASCII still get different groups."""
        names = ["café", "cafe", "caf_", "caf é", "雑談", "雑 談", "a.b", "a_b"]
        groups = {group_name_for(name) for name in names}
        assert len(groups) == len(names)
