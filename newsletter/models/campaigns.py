"""Campaigns: digest schedules, the campaign and its status machine, the snapshot a sender
approved, its posts, A/B variants and the report proxy."""

from datetime import timedelta

from django.conf import settings
from django.core.validators import (
    MaxValueValidator,
    MinValueValidator,
)
from django.db import models
from django.db.models import Q

from newsletter.models.base import TimeStamped
from newsletter.models.content import Post
from newsletter.models.subscribers import Topic


class DigestSchedule(TimeStamped):
    """A recurring digest, e.g. every Monday 09:00 Europe/London for news, events and education."""

    class Weekday(models.IntegerChoices):
        MONDAY = 1
        TUESDAY = 2
        WEDNESDAY = 3
        THURSDAY = 4
        FRIDAY = 5
        SATURDAY = 6
        SUNDAY = 0

    name = models.CharField(max_length=120)
    topics = models.ManyToManyField(Topic, related_name="digest_schedules")
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday, null=True, blank=True, help_text="Empty: every day."
    )
    time_of_day = models.TimeField()
    timezone = models.CharField(max_length=64, default="Europe/London")
    subject = models.CharField(max_length=200, help_text="May use {date}.")
    intro = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=300, blank=True)
    # Each run's digest goes at time_of_day in each reader's own zone (waves), not at one moment.
    in_reader_zones = models.BooleanField(
        default=False, help_text="Send at this time of day in each reader's own time zone."
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["next_run_at"], name="digest_due_idx", condition=Q(is_active=True)
            ),
        ]

    def __str__(self):
        return self.name


# What a campaign opens with unless staff change it ({first_name}: the reader's, or "friend").
DEFAULT_GREETING = "Dear {first_name},"


class Campaign(TimeStamped):
    class Status(models.TextChoices):
        DRAFT = "draft"
        SCHEDULED = "scheduled"
        SENDING = "sending"
        PAUSED = "paused"
        SENT = "sent"
        CANCELLED = "cancelled"

    # The one table of legal moves; newsletter.campaigns.states.transition() enforces it.
    TRANSITIONS = {
        Status.DRAFT: {Status.SCHEDULED, Status.CANCELLED},
        Status.SCHEDULED: {Status.DRAFT, Status.SENDING, Status.CANCELLED},
        Status.SENDING: {Status.PAUSED, Status.SENT, Status.CANCELLED},
        Status.PAUSED: {Status.SENDING, Status.CANCELLED},
        Status.SENT: set(),
        Status.CANCELLED: set(),
    }

    subject = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True, help_text="Its address in the archive.")
    preheader = models.CharField(max_length=200, blank=True)
    intro = models.TextField(blank=True, help_text="Markdown, shown above the posts.")
    greeting = models.CharField(
        max_length=200,
        blank=True,
        default=DEFAULT_GREETING,
        help_text=(
            "The line the email opens with. {first_name} becomes each reader's first name, or "
            "“friend” when we do not know it. Leave empty for no greeting."
        ),
    )
    posts = models.ManyToManyField(Post, through="CampaignPost", related_name="campaigns")
    topics = models.ManyToManyField(
        Topic, related_name="campaigns", help_text="Audience: subscribers to any of these topics."
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    digest_schedule = models.ForeignKey(
        DigestSchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )

    # What the campaign is, set where it is made, so rendering and the audience never guess it
    # from the rows that point at it. A digest is composed by "compose a digest" (by hand or by a
    # schedule): the next digest of the same topics starts where it stopped. A series step goes
    # to its enrolled readers, an event reminder to the event's "yes" list, whatever their topics.
    class Kind(models.TextChoices):
        CAMPAIGN = "campaign"
        DIGEST = "digest"
        SERIES_STEP = "series_step", "Series step"
        EVENT_REMINDER = "event_reminder", "Event reminder"

    kind = models.CharField(max_length=20, choices=Kind, default=Kind.CAMPAIGN, editable=False)
    # Why the system moved it to its current status (e.g. sent back to draft at the start).
    status_reason = models.CharField(max_length=500, blank=True)
    track_opens = models.BooleanField(default=False)
    track_clicks = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    started_at = models.DateTimeField(null=True, blank=True)
    # Set when the Delivery ledger is complete: until then "nothing queued" does not mean "done".
    prepared_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the sweeper last queued a lost preparation again (started_at stays the real start).
    prepare_requeued_at = models.DateTimeField(null=True, blank=True)
    # Set while the mail server itself is failing (no connection, 421, TLS): what admin shows as
    # "waiting for the mail server since …". Cleared by the next message it accepts.
    relay_down_since = models.DateTimeField(null=True, blank=True)
    relay_error = models.CharField(max_length=500, blank=True)
    # Why the pipeline paused the campaign by itself (e.g. it cannot be rendered).
    pause_reason = models.TextField(blank=True)
    # Filled when the campaign ends; while it sends, counts come from the Delivery ledger.
    recipients_count = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    bounced_count = models.PositiveIntegerField(default=0)
    # Local-time sending: at local_time on local_date in each reader's zone (both set), in waves
    # (newsletter.delivery.waves); scheduled_at is then the first wave's moment.
    local_date = models.DateField(null=True, blank=True)
    local_time = models.TimeField(null=True, blank=True)

    # An A/B subject test (newsletter.campaigns.abtest): with a test share, that share of the
    # audience gets the variants (CampaignVariant) first, and the rest gets the winner.
    class WinnerBy(models.TextChoices):
        STAFF = "staff", "Staff choose"
        CLICKS = "clicks", "Automatically, by click rate"

    test_share = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="Per cent of the audience (1–50) that gets the variants first. Empty: no test.",
    )
    test_wait = models.DurationField(
        default=timedelta(hours=4), help_text="How long the test runs before the winner is picked."
    )
    winner_by = models.CharField(max_length=10, choices=WinnerBy, default=WinnerBy.STAFF)
    winner = models.CharField(max_length=1, blank=True)
    # When the test share's rows were written (the rows created until then are the test's).
    test_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-scheduled_at", "-id"]
        permissions = [("send_campaign", "Can schedule, resume and send campaigns")]
        indexes = [
            # The beat tick: scheduled campaigns that are due.
            models.Index(
                fields=["scheduled_at"], name="campaign_due_idx", condition=Q(status="scheduled")
            ),
        ]

    def __str__(self):
        return self.subject


class Snapshot(models.Model):
    """What a sender approved when scheduling: taken on draft → scheduled, dropped on the way back
    to draft. Delivery, previews, test sends and the archive render from it, never from live
    posts, so editing a post afterwards changes nothing that goes out or was sent."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="snapshot")
    subject = models.CharField(max_length=200)
    preheader = models.CharField(max_length=200, blank=True)
    intro = models.TextField(blank=True)
    # Snapshots taken before the greeting was editable greeted this way.
    greeting = models.CharField(max_length=200, blank=True, default=DEFAULT_GREETING)
    # The audience: [{"id": 1, "slug": "news"}, …]
    topics = models.JSONField(default=list)
    # The posts' rendered sections, in order: [{"topic_slug", "heading", "posts": [{"post_id",
    # "title", "link", "html", "text"}]}]; html and text are the email's fragments for the post.
    sections = models.JSONField(default=list)
    # Every post of the campaign when approved, in order (the start checks they are unchanged).
    post_ids = models.JSONField(default=list)
    # The charity's look when approved (newsletter.content.brand.frozen_brand); {} before brands
    # existed.
    brand = models.JSONField(default=dict, blank=True)
    # An A/B test's subjects: [{"letter", "subject", "preheader"}], in letter order.
    variants = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"snapshot of {self.campaign_id}"

    @property
    def topic_ids(self) -> list[int]:
        return [topic["id"] for topic in self.topics]

    @property
    def topic_slugs(self) -> frozenset[str]:
        return frozenset(topic["slug"] for topic in self.topics)

    def subject_of(self, letter: str) -> tuple[str, str]:
        """(subject, preheader) of the A/B variant `letter`, or the campaign's own without one."""
        for variant in self.variants:
            if variant["letter"] == letter:
                return variant["subject"], variant["preheader"]
        return self.subject, self.preheader


class CampaignPost(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items")
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "post"], name="campaign_post_unique"),
        ]

    def __str__(self):
        return f"{self.position}. {self.post}"


class CampaignReport(Campaign):
    """A campaign's results in admin (newsletter.admin.reports): the same rows, another page."""

    class Meta:
        proxy = True
        verbose_name = "campaign report"


class CampaignVariant(models.Model):
    """One subject (and preheader) of a campaign's A/B test (newsletter.campaigns.abtest)."""

    class Letter(models.TextChoices):
        A = "A"
        B = "B"
        C = "C"
        D = "D"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    letter = models.CharField(max_length=1, choices=Letter)
    subject = models.CharField(max_length=200)
    preheader = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["letter"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "letter"], name="campaign_variant_unique"),
        ]

    def __str__(self):
        return f"{self.letter}: {self.subject}"
