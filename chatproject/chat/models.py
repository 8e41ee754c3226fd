"""What the chat keeps: rooms by the name people typed, and every message said in them."""

from django.conf import settings
from django.db import models

from .rooms import MAX_ROOM_NAME_LENGTH, group_name_for


class Room(models.Model):
    # The Unicode name as typed (NFC-normalised by rooms.clean_room_name)
    name = models.CharField(max_length=MAX_ROOM_NAME_LENGTH, unique=True)
    # The channel-layer group of the room, derived from the name (rooms.group_name_for)
    group_name = models.CharField(max_length=100, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    # The seq of the room's latest message (0: none yet). Saving a message counts it up in
    # the same transaction (history.take_seqs), so seqs are gap-free in commit order
    last_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.group_name = group_name_for(self.name)
        super().save(*args, **kwargs)


class Message(models.Model):
    # Ids only grow (SQLite AUTOINCREMENT, sequences elsewhere): a client that saw id N asks
    # for the messages after N, and ids it already shows are duplicates
    id = models.BigAutoField(primary_key=True)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    # 1, 2, 3 … within the room, in the order the messages were committed: a client that
    # holds seq 7 and receives 9 knows that 8 exists and asks for it
    seq = models.PositiveBigIntegerField()
    # The account that wrote it, if any; the display name stays when the account goes
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    author_name = models.CharField(max_length=150)
    text = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["room", "id"])]
        # Also the index that history after a seq reads
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="chat_message_one_seq_per_room")
        ]

    def __str__(self) -> str:
        return f"{self.author_name}: {self.text[:50]}"
