"""Number every room's messages 1, 2, 3 … (seq), and keep the room's last number."""

from django.db import migrations, models


def number_existing_messages(apps, schema_editor):
    """Existing messages get their seqs in id order, room by room."""
    Room = apps.get_model("chat", "Room")
    Message = apps.get_model("chat", "Message")
    for room in Room.objects.all():
        ids = Message.objects.filter(room=room).order_by("id").values_list("id", flat=True)
        last_seq = 0
        for last_seq, pk in enumerate(ids.iterator(), start=1):
            Message.objects.filter(pk=pk).update(seq=last_seq)
        Room.objects.filter(pk=room.pk).update(last_seq=last_seq)


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0001_rooms_and_messages"),
    ]

    operations = [
        migrations.AddField(
            model_name="room",
            name="last_seq",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="message",
            name="seq",
            field=models.PositiveBigIntegerField(null=True),
        ),
        migrations.RunPython(number_existing_messages, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="message",
            name="seq",
            field=models.PositiveBigIntegerField(),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(
                fields=("room", "seq"), name="chat_message_one_seq_per_room"
            ),
        ),
    ]
