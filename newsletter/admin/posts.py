"""Admin for posts: the writing of news, events, calls to get involved and articles."""

from django import forms
from django.contrib import admin
from django.urls import path
from django.utils import timezone

from newsletter.admin import editor
from newsletter.admin.events import PostEngagementInline
from newsletter.content import images
from newsletter.content.posts import post_link
from newsletter.models import Image, Post, Reference
from newsletter.subscribers.timezones import timezone_field


class PostForm(forms.ModelForm):
    timezone = timezone_field()
    lead_image = forms.ModelChoiceField(
        queryset=Image.objects.all(),
        required=False,
        label="Or an uploaded image",
        help_text="Sets the image address, and its alt text when that is empty.",
    )

    class Meta:
        model = Post
        fields = [
            "kind", "title", "slug", "topic", "status", "published_at", "summary", "body", "url",
            "image_url", "image_alt", "starts_at", "ends_at", "timezone", "location",
            "registration_url",
        ]  # fmt: skip
        help_texts = {
            "url": "The post's page on the charity's site, where an email's “Read more” leads. "
            "Leave it empty and emails link to the post's own page on Engage instead: "
            "/archive/posts/<slug>/ (shown under “Email link” once saved).",
            "body": "Markdown. An email shows the summary, or the start of this text (about 60 "
            "words) when there is no summary.",
        }
        widgets = {
            "summary": editor.MarkdownEditor(attrs={"rows": 4}),
            "body": editor.MarkdownEditor(),
        }

    def clean(self):
        data = super().clean()
        if image := data.get("lead_image"):
            data["image_url"] = images.absolute_url(image)
            data["image_alt"] = data.get("image_alt") or image.alt
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


class ReferenceInline(admin.StackedInline):
    # Stacked, not a table: five columns beside the live preview were cut off at 1280 px.
    model = Reference
    fields = [("position", "year"), "title", "publisher", "url"]
    ordering = ["position", "id"]
    extra = 1

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "url":
            # One input, not admin's "Currently: <link> / Change:" pair: a long link ran past the
            # form's edge.
            kwargs["widget"] = forms.URLInput(attrs={"class": "vURLField"})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


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
    change_form_template = "admin/newsletter/post/change_form.html"
    fieldsets = [
        (None, {"fields": ["kind", "title", "slug", "topic", "status", "published_at"]}),
        (
            "Content",
            {
                "fields": [
                    "summary",
                    "body",
                    "url",
                    "email_link",
                    "image_url",
                    "lead_image",
                    "image_alt",
                ]
            },
        ),
        (
            "Event",
            {
                "fields": ["starts_at", "ends_at", "timezone", "location", "registration_url"],
                "description": "Only for events: the email shows these and links the .ics file.",
                # Hidden by engage-editor.js unless the kind is "event" (shown without JS).
                "classes": ["event-fields"],
            },
        ),
    ]

    readonly_fields = ["email_link"]

    @admin.display(description="Email link")
    def email_link(self, post: Post) -> str:
        """The address an email's "Read more" uses for this post, as saved."""
        if post.pk is None:
            return "Shown once the post is saved."
        return post_link(post)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("live-preview/", view(self.live_preview_view), name="post-live-preview-add"),
            path(
                "<int:object_id>/live-preview/",
                view(self.live_preview_view),
                name="post-live-preview",
            ),
            *super().get_urls(),
        ]

    def live_preview_view(self, request, object_id=None):
        return editor.post_preview(request, self, object_id)
