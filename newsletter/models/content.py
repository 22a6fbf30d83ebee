"""What staff write and show: posts, their references, the brand, uploaded images."""

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.validators import (
    RegexValidator,
    URLValidator,
)
from django.db import models
from django.utils import timezone

from newsletter.models.base import TimeStamped
from newsletter.models.subscribers import Topic


class Post(TimeStamped):
    class Kind(models.TextChoices):
        NEWS = "news"
        EVENT = "event"
        EDUCATION = "education"
        GET_INVOLVED = "get-involved", "Get involved"

    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"

    kind = models.CharField(max_length=20, choices=Kind, default=Kind.NEWS)
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    summary = models.TextField(max_length=600, blank=True)
    body = models.TextField(blank=True, help_text="Markdown. Raw HTML is sanitised.")
    url = models.URLField(
        "web address", blank=True, help_text="The post's address on the charity's site."
    )
    image_url = models.URLField("image address", blank=True)
    image_alt = models.CharField(max_length=200, blank=True)
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="posts")
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)

    # Events only.
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="Europe/London")
    location = models.CharField(max_length=200, blank=True)
    registration_url = models.URLField("registration link", blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            # Digest selection: published posts of some topics since a moment.
            models.Index(fields=["topic", "published_at"], name="post_topic_published_idx"),
        ]

    def __str__(self):
        return self.title

    # What a post takes from readers: its PostEngagement settings (none: nothing), read by the
    # email's links, the RSVP pages and the RSVP service alike.
    def engagement_or_none(self):
        try:
            return self.engagement
        except ObjectDoesNotExist:
            return None

    def rsvps_close_at(self):
        engagement = self.engagement_or_none()
        if engagement is None:
            return None
        return engagement.rsvp_deadline or self.starts_at

    def takes_answers(self, now=None) -> bool:
        engagement = self.engagement_or_none()
        if engagement is None or not engagement.takes_rsvps or self.kind != Post.Kind.EVENT:
            return False
        if self.status != Post.Status.PUBLISHED or self.starts_at is None:
            return False
        return (now or timezone.now()) < self.rsvps_close_at()

    def takes_interest(self) -> bool:
        engagement = self.engagement_or_none()
        return bool(
            engagement
            and engagement.count_me_in
            and self.kind == Post.Kind.GET_INVOLVED
            and self.status == Post.Status.PUBLISHED
        )


class Reference(models.Model):
    """A numbered citation of an educational post."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="references")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=300)
    publisher = models.CharField(max_length=200, blank=True)
    url = models.URLField("web address", blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.title


# Links readers follow from an email: a web page, never javascript:, data: or ftp:.
WEB_URL = URLValidator(schemes=["http", "https"])
HEX_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}\Z", "Give the colour as # and six hex digits.")


class BrandLogo(models.Model):
    """An uploaded logo, kept by its SHA-256 for good: emails already sent keep showing theirs."""

    digest = models.CharField(max_length=64, primary_key=True)
    content_type = models.CharField(max_length=40)
    data = models.BinaryField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"logo {self.digest[:12]} ({self.width}×{self.height})"


class Brand(models.Model):
    """The charity's look, one row (pk 1): emails, public pages and the admin header use it.
    A blank field falls back to the settings (ORGANISATION_NAME, …), so nothing needs a row."""

    organisation_name = models.CharField(
        max_length=120,
        blank=True,
        help_text="Leave blank to use the charity's name Engage was set up with.",
    )
    logo = models.ForeignKey(BrandLogo, null=True, blank=True, on_delete=models.PROTECT)
    colour = models.CharField(
        max_length=7,
        blank=True,
        validators=[HEX_COLOUR],
        help_text="As #rrggbb. Text on it is white or black, whichever reads best.",
    )
    donate_url = models.URLField("donate page", blank=True, validators=[WEB_URL])
    donate_label = models.CharField(
        "donate button says", max_length=40, blank=True, help_text="Blank: “Donate”."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "brand"
        verbose_name_plural = "brand"

    def __str__(self):
        return "The charity's look"


class BrandLink(models.Model):
    """A link in every email's and page's footer (about us, privacy, contact…)."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="links")
    position = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(max_length=60)
    url = models.URLField("web address", validators=[WEB_URL])

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "footer link"

    def __str__(self):
        return self.label


class Image(models.Model):
    """An image staff uploaded for a post or a campaign intro: resized for email and re-encoded
    without its metadata by newsletter.content.images, served from MEDIA_URL."""

    file = models.ImageField(upload_to="images/%Y/%m/", width_field="width", height_field="height")
    alt = models.CharField(
        "alt text",
        max_length=200,
        help_text="What the image shows, for people who cannot see it (or have images off).",
    )
    width = models.PositiveIntegerField(editable=False, default=0)
    height = models.PositiveIntegerField(editable=False, default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.alt} ({self.width}×{self.height})"
