"""The Delivery ledger (one row per campaign and subscriber), local-time waves, and the sending
profiles whose warm-up limits each day's sends."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from newsletter.models.campaigns import Campaign
from newsletter.models.subscribers import Subscriber


class Delivery(models.Model):
    """The ledger: one row per (campaign, subscriber). The database, not Celery, records sends."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        BOUNCED = "bounced"
        SKIPPED = "skipped"  # nothing for this subscriber's topics, or they left before their turn

    # No index of its own: the (campaign, subscriber) constraint's index serves every lookup by
    # campaign, and each index is one more write per ledger row.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    # Kept when the subscriber is erased, so a sent campaign's counts stay true.
    subscriber = models.ForeignKey(
        Subscriber, null=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField("Message-ID", max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The first time a message to this row was tried: transient failures retry until
    # DELIVERY_RETRY_HORIZON after it.
    first_attempt_at = models.DateTimeField(null=True, blank=True)

    # What the ESP and the reader did afterwards (webhooks, and tracking where allowed).
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    # The A/B test's variant (letter) this reader got; empty when the campaign has no test. A
    # database default, so the ledger's raw INSERT may leave it out.
    variant = models.CharField(max_length=1, blank=True, default="", db_default="")
    # The moment the row may go (a local-time campaign's wave), fixed when the ledger is written;
    # null: at once. ledger.claim refuses a row before it.
    send_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "subscriber"], name="delivery_campaign_subscriber_unique"
            ),
        ]
        indexes = [
            # Progress counts and "anything left?" per campaign.
            models.Index(fields=["campaign", "status"], name="delivery_campaign_status_idx"),
            # The sweeper: expired leases.
            models.Index(
                fields=["lease_expires_at"],
                name="delivery_lease_idx",
                condition=Q(status="sending"),
            ),
            # Webhooks find their delivery by Message-ID; a row has one only once it is sent.
            models.Index(
                fields=["message_id"], name="delivery_message_id_idx", condition=~Q(message_id="")
            ),
            # Local-time sending: a wave's rows (waves.queue_due_waves, wave_progress).
            models.Index(
                fields=["campaign", "send_after"],
                name="delivery_wave_idx",
                condition=Q(send_after__isnull=False),
            ),
            # Retention: errors (SMTP replies may quote the address) older than their period.
            models.Index(
                fields=["updated_at"], name="delivery_error_idx", condition=~Q(last_error="")
            ),
        ]

    def __str__(self):
        return f"{self.campaign_id}→{self.subscriber_id} {self.status}"


class Wave(models.Model):
    """The readers of a local-time campaign whose local hour falls at one moment (one or more
    zones), or a warm-up's later day's share, handed to the workers once, when it comes."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="waves")
    send_after = models.DateTimeField()
    zones = models.JSONField(default=list)
    queued_at = models.DateTimeField(null=True, blank=True)
    # A later day's share held back by a new sending profile's warm-up (newsletter.delivery.warmup).
    warm_up = models.BooleanField(default=False)

    class Meta:
        ordering = ["send_after"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "send_after"], name="wave_unique"),
        ]
        indexes = [
            # The beat tick: waves not handed out yet that are due.
            models.Index(fields=["send_after"], name="wave_due_idx", condition=Q(queued_at=None)),
        ]

    def __str__(self):
        return f"wave of {self.campaign_id} at {self.send_after:%Y-%m-%d %H:%M}"


# A ramp like the mailbox providers' and ESPs' warm-up guides: messages a day, day one first.
DEFAULT_RAMP = [50, 100, 500, 1000, 5000, 10000, 20000, 40000, 80000, 150000, 300000]


def parse_ramp(text: str) -> list[int]:
    """A ramp as staff write it ("50, 100, 500") as numbers; ValidationError saying what is
    wrong: each day a whole number above zero, none below the day before."""
    parts = [part.strip().replace("_", "") for part in text.replace("\n", ",").split(",")]
    parts = [part for part in parts if part]
    if not parts:
        raise ValidationError("Enter at least one day's number of messages, e.g. 50, 100, 500.")
    days = []
    for number, part in enumerate(parts, start=1):
        if not part.isascii() or not part.isdigit() or int(part) == 0:
            raise ValidationError(
                f"Day {number}: “{part}” is not a whole number of messages above zero."
            )
        day = int(part)
        if days and day < days[-1]:
            raise ValidationError(
                f"Day {number}: {day:,} is fewer than day {number - 1}'s {days[-1]:,}. "
                "A ramp never goes down."
            )
        days.append(day)
    return days


def validate_ramp(text: str) -> None:
    parse_ramp(text)


class SendingProfile(models.Model):
    """A From domain (with the mail service it goes through) as mailbox providers see it: while
    it is new, each day's messages follow its ramp (newsletter.delivery.warmup)."""

    name = models.CharField(
        max_length=200,
        help_text="Your name for it, e.g. “news.charity.org through Postmark's broadcast stream”.",
    )
    domain = models.CharField(
        "From domain",
        max_length=253,
        blank=True,
        unique=True,
        help_text=(
            "The domain of the address campaigns come from (after the @), e.g. news.charity.org. "
            "Leave it empty for the default profile: it covers a From domain with no profile "
            "of its own."
        ),
    )
    warming_up_since = models.DateField(
        "New: warming up since",
        null=True,
        blank=True,
        help_text=(
            "The first day this domain or mail service sends (or sent) mail. From that day, "
            "each day's messages follow the daily ramp below, the most engaged readers first, "
            "and the rest wait for the next days. Leave it empty when it is warmed up: then "
            "there is no daily limit."
        ),
    )
    ramp = models.TextField(
        "Daily ramp",
        default=", ".join(str(day) for day in DEFAULT_RAMP),
        validators=[validate_ramp],
        help_text=(
            "How many messages may go each day, day one first, separated by commas. Each "
            "number is a whole number above zero and no smaller than the day before. After the "
            "last day there is no limit. Filled in with a ramp like the big mailbox providers' "
            "and email services' warm-up guides."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["domain"]
        verbose_name = "sending profile"

    def __str__(self):
        return self.name or self.domain or "default sending profile"

    def clean(self):
        self.domain = self.domain.strip().lower().removeprefix("@")

    def allowance(self, day: date) -> int | None:
        """Messages that may go on `day` in all; None when nothing is held (warmed up, not
        begun, or past the ramp's last day)."""
        start = self.warming_up_since
        if start is None or day < start:
            return None
        ramp = parse_ramp(self.ramp)
        index = (day - start).days
        return ramp[index] if index < len(ramp) else None
