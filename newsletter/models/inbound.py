"""What comes back: ESP webhook events and inbound messages."""

from django.db import models
from django.db.models import Q

from newsletter.models.delivery import Delivery
from newsletter.models.subscribers import Subscriber


class WebhookEvent(models.Model):
    """An ESP event, stored once by its id: a replayed webhook finds it and changes nothing."""

    esp = models.CharField(max_length=40)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=40)
    message_id = models.CharField(max_length=255, blank=True)
    recipient = models.CharField(max_length=254, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    # What the receiving server said (an ESP's bounce), kept for a sending problem's report.
    diagnostic = models.TextField(blank=True, default="", db_default="")
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )

    class Meta:
        indexes = [
            # Retention: events older than RETENTION_WEBHOOK_EVENTS_DAYS.
            models.Index(fields=["received_at"], name="webhook_event_received_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["esp", "event_id"], name="webhook_event_unique"),
        ]

    def __str__(self):
        return f"{self.esp} {self.event_type} {self.event_id}"


class InboundMessage(models.Model):
    """One message that came back (a bounce report, a complaint, an unsubscribe request, an
    auto-reply, anything else), recorded once by the hash of its bytes, classified, and linked to
    its delivery by its VERP token when it carries one."""

    class Kind(models.TextChoices):
        HARD_BOUNCE = "hard_bounce"
        SOFT_BOUNCE = "soft_bounce"
        COMPLAINT = "complaint"
        UNSUBSCRIBE = "unsubscribe"
        AUTO_REPLY = "auto_reply"
        OTHER = "other"  # kept for staff
        REJECTED = "rejected"  # could not be read (too big, not a message)

    class WhoFailed(models.TextChoices):
        """For a bounce: whose failure it was (newsletter.inbound.bounces.judge)."""

        RECIPIENT = "recipient", "the reader's address"  # dead: suppressed
        SENDER = "sender", "our sending"  # refused: a sending problem, never the reader's
        UNKNOWN = "unknown", "cannot tell"  # counted like a soft bounce

    received_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=40)  # imap, pipe, or the ESP's name
    digest = models.CharField(max_length=64, unique=True)  # sha256 of the raw bytes
    message_id = models.CharField("Message-ID", max_length=255, blank=True)
    kind = models.CharField(max_length=12, choices=Kind)
    reason = models.TextField(blank=True)
    recipient = models.CharField(max_length=254, blank=True)  # the address the report names
    who_failed = models.CharField(max_length=10, choices=WhoFailed, blank=True, db_default="")
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound"
    )
    subscriber = models.ForeignKey(
        Subscriber, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound"
    )
    size = models.PositiveIntegerField(default=0)
    # Deleted after INBOUND_RETENTION_DAYS; the classification stays.
    raw = models.BinaryField(null=True, blank=True, editable=False)
    # The other readers' deliveries that copies of this message named: one message to several of
    # our addresses is recorded once and acted on for each, and counts in each one's soft-bounce
    # streak (newsletter.inbound.effects.count_soft_bounces).
    also_deliveries = models.ManyToManyField(Delivery, blank=True, related_name="inbound_copies")

    class Meta:
        indexes = [
            # The admin list, newest first, filtered by kind.
            models.Index(fields=["kind", "received_at"], name="inbound_kind_received_idx"),
            # Retention: rows still holding their bytes, oldest first.
            models.Index(
                fields=["received_at"], name="inbound_raw_idx", condition=Q(raw__isnull=False)
            ),
            # Inbound message IDs are not unique (a replay with new Received lines), only a hint.
            models.Index(fields=["message_id"], name="inbound_message_id_idx"),
        ]
        permissions = [("view_inbound_raw", "Can read the raw bytes of inbound messages")]

    def __str__(self):
        return f"{self.kind} {self.received_at:%Y-%m-%d %H:%M}"
