"""manage.py clearemptyrooms: remove rooms in which nothing was ever said.

A room is kept for its messages; a row without any is only a name someone once opened.
Safe while the chat runs: a room that gets its first message is made again with it.
"""

from django.core.management.base import BaseCommand

from chat.models import Room


class Command(BaseCommand):
    help = "Remove rooms that have no messages (run it from cron, like clearsessions)."

    def handle(self, *args, **options):
        removed, _ = Room.objects.filter(messages__isnull=True).delete()
        self.stdout.write(f"Removed {removed} empty room{'s' if removed != 1 else ''}.")
