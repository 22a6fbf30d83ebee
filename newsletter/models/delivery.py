"""The Delivery ledger (one row per campaign and subscriber) and local-time waves."""

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

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
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
            # Webhooks find their delivery by Message-ID.
            models.Index(fields=["message_id"], name="delivery_message_id_idx"),
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
    zones), handed to the workers once, when it comes."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="waves")
    send_after = models.DateTimeField()
    zones = models.JSONField(default=list)
    queued_at = models.DateTimeField(null=True, blank=True)

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
