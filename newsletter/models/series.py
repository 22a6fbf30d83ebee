"""Automations: a series, its steps and each reader's enrolment."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from newsletter.models.base import TimeStamped
from newsletter.models.campaigns import Campaign
from newsletter.models.content import Post
from newsletter.models.subscribers import Subscriber, Topic

# --- Series: automations such as the welcome series (newsletter.series) ------------------------


class Series(TimeStamped):
    """An automation: ordered steps, each an email sent a delay after the one before, to every
    subscriber its trigger enrols, once each."""

    class Status(models.TextChoices):
        DRAFT = "draft"  # being written: steps may change, nobody is enrolled
        ACTIVE = "active"  # approved (frozen) and running
        PAUSED = "paused"  # enrols, but due steps wait

    class Trigger(models.TextChoices):
        CONFIRMED = "confirmed", "A subscriber confirmed"
        TOPIC_ADDED = "topic-added", "A subscriber added a topic"

    name = models.CharField(max_length=120)
    trigger = models.CharField(max_length=20, choices=Trigger, default=Trigger.CONFIRMED)
    topic = models.ForeignKey(
        Topic,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="series",
        help_text="For “a subscriber added a topic”: which topic.",
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    track_opens = models.BooleanField(default=False)
    track_clicks = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "series"
        constraints = [
            models.CheckConstraint(
                condition=Q(trigger="confirmed", topic=None)
                | Q(trigger="topic-added", topic__isnull=False),
                name="series_topic_matches_trigger",
            ),
        ]

    def __str__(self):
        return self.name


class SeriesStep(TimeStamped):
    """One email of a series. Its content is sent through a system campaign of its own (made and
    frozen when the series is activated), so the ledger holds one row per step and subscriber."""

    class Unit(models.TextChoices):
        MINUTES = "minutes"
        HOURS = "hours"
        DAYS = "days"

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=0)
    subject = models.CharField(max_length=200)
    preheader = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True, help_text="Markdown, shown above the posts.")
    posts = models.ManyToManyField(Post, blank=True, related_name="+")
    delay = models.PositiveIntegerField(
        default=0, help_text="After the step before (or the trigger); 0: at once."
    )
    delay_unit = models.CharField(max_length=10, choices=Unit, default=Unit.DAYS)
    at_time = models.TimeField(
        null=True, blank=True, help_text="Optional: then at this time of day in the reader's zone."
    )
    campaign = models.OneToOneField(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="series_step"
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.position}. {self.subject}"


class Enrolment(TimeStamped):
    """A subscriber's way through a series: enrolled once, ever (re-joining does not restart it)."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        FINISHED = "finished"
        STOPPED = "stopped"

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="enrolments")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="enrolments")
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)
    next_step = models.ForeignKey(
        SeriesStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    next_at = models.DateTimeField(null=True, blank=True)
    stopped_reason = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "subscriber"], name="enrolment_unique"),
        ]
        indexes = [
            # The series tick: active enrolments that are due.
            models.Index(
                fields=["next_at"], name="enrolment_due_idx", condition=Q(status="active")
            ),
        ]

    def __str__(self):
        return f"{self.subscriber_id} in {self.series_id}: {self.status}"
