"""Admin for posts: the writing of news, events, calls to get involved and articles."""

from django import forms
from django.contrib import admin
from django.utils import timezone

from ..models import Post, Reference
from ..timezones import timezone_field
from .events import PostEngagementInline


class PostForm(forms.ModelForm):
    timezone = timezone_field()

    class Meta:
        model = Post
        fields = [
            "kind", "title", "slug", "topic", "status", "published_at", "summary", "body", "url",
            "image_url", "image_alt", "starts_at", "ends_at", "timezone", "location",
            "registration_url",
        ]  # fmt: skip

    def clean(self):
        data = super().clean()
        kind, starts, ends = data.get("kind"), data.get("starts_at"), data.get("ends_at")
        if kind == Post.Kind.EVENT and not starts:
            self.add_error("starts_at", "An event needs a start time.")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "An event must end after it starts.")
        if data.get("status") == Post.Status.PUBLISHED and not data.get("published_at"):
            data["published_at"] = timezone.now()
        if data.get("image_url") and not data.get("image_alt"):
            self.add_error("image_alt", "Describe the image for people who cannot see it.")
        return data


class ReferenceInline(admin.TabularInline):
    model = Reference
    fields = ["position", "title", "publisher", "url", "year"]
    ordering = ["position", "id"]
    extra = 1


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    form = PostForm
    list_display = ["title", "kind", "topic", "status", "published_at", "starts_at"]
    list_filter = ["kind", "topic", "status", "published_at"]
    list_select_related = ["topic"]
    search_fields = ["title", "summary", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "published_at"
    inlines = [ReferenceInline, PostEngagementInline]
    fieldsets = [
        (None, {"fields": ["kind", "title", "slug", "topic", "status", "published_at"]}),
        ("Content", {"fields": ["summary", "body", "url", "image_url", "image_alt"]}),
        (
            "Event",
            {
                "fields": ["starts_at", "ends_at", "timezone", "location", "registration_url"],
                "description": "Only for events: the email shows these and links the .ics file.",
            },
        ),
    ]
