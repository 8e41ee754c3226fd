from django.contrib import admin

from .models import Message, Room


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "group_name", "last_seq", "created"]
    search_fields = ["name"]
    readonly_fields = ["group_name", "last_seq", "created"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "room", "seq", "author_name", "text", "created"]
    list_filter = ["room"]
    search_fields = ["text", "author_name"]
    list_select_related = ["room"]
    raw_id_fields = ["author"]
