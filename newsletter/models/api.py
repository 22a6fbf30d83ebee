"""The REST API's keys and idempotent requests, and the outgoing webhooks' endpoints, events and
their delivery ledger (newsletter.api)."""

from django.conf import settings
from django.db import models


class Scope(models.TextChoices):
    """What a key (or a webhook endpoint) may see and do, mirroring the staff roles."""

    EDITOR = "editor", "Editor: topics, posts (drafts), campaigns; no addresses, no sends"
    SENDER = "sender", "Sender: topics, posts, campaigns and their figures; no addresses"
    SUBSCRIBERS = "subscribers", "Subscriber manager: subscribers, suppressions, answers"
    FULL = "full", "Full: everything, publishing posts included"


class ApiKey(models.Model):
    """A key another system (a CRM, the site's CMS) uses. The secret is shown once, when made;
    only its hash is kept."""

    name = models.CharField(max_length=100, unique=True, help_text="Who uses it, e.g. 'CRM sync'.")
    scope = models.CharField(max_length=20, choices=Scope)
    # The first characters of the key, in clear, so it can be found (and named in logs).
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(
        "last used from (IP address)", null=True, blank=True, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self):
        return self.name


class IdempotentRequest(models.Model):
    """The first answer to a POST carrying an Idempotency-Key, replayed to its retries."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # sha256 of method, path and body
    status_code = models.PositiveSmallIntegerField(null=True)  # None: still being answered
    body = models.BinaryField(blank=True, default=b"")
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotent_request_once")
        ]

    def __str__(self):
        return f"{self.api_key_id}: {self.key}"


class WebhookEndpoint(models.Model):
    """A URL of another system told what happens here, signed with a secret shown once."""

    class EventType(models.TextChoices):
        SUBSCRIBER_CONFIRMED = "subscriber.confirmed"
        SUBSCRIBER_TOPICS_CHANGED = "subscriber.topics_changed"
        SUBSCRIBER_UNSUBSCRIBED = "subscriber.unsubscribed"
        SUBSCRIBER_BOUNCED = "subscriber.bounced"
        SUBSCRIBER_COMPLAINED = "subscriber.complained"
        SUBSCRIBER_ERASED = "subscriber.erased"
        RSVP_ANSWERED = "rsvp.answered"
        INTEREST_REGISTERED = "interest.registered"
        CAMPAIGN_SENT = "campaign.sent"

    name = models.CharField(max_length=100)
    url = models.URLField("web address", max_length=500)
    events = models.JSONField(default=list, help_text="The event types it wants.")
    scope = models.CharField(
        max_length=20, choices=Scope, help_text="What its payloads may show (addresses or not)."
    )
    secret = models.CharField(max_length=100, editable=False)  # needed to sign: not a hash
    is_active = models.BooleanField(default=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.CharField(max_length=300, blank=True)
    # Since when every attempt has failed (None: the last one succeeded).
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    last_sequence = models.PositiveBigIntegerField(default=0, editable=False)
    # One drain at a time per endpoint keeps its events in order.
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class OutgoingEvent(models.Model):
    """Something that happened, once, whatever the number of endpoints told."""

    type = models.CharField(max_length=40, choices=WebhookEndpoint.EventType)
    # The whole payload; each endpoint is sent what its scope may see (newsletter.api.outbox).
    data = models.JSONField(default=dict)
    subscriber_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.type} #{self.pk}"


class WebhookDelivery(models.Model):
    """The ledger: one row per (event, endpoint), numbered in the endpoint's order."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        DELIVERED = "delivered"
        FAILED = "failed"  # gave up after WEBHOOK_RETRY_HORIZON

    event = models.ForeignKey(OutgoingEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    sequence = models.PositiveBigIntegerField()
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once"),
            models.UniqueConstraint(
                fields=["endpoint", "sequence"], name="webhook_delivery_sequence"
            ),
        ]
        indexes = [
            # The drain: an endpoint's next rows in order, among those not yet delivered.
            models.Index(
                fields=["endpoint", "sequence"],
                condition=models.Q(status__in=["queued", "sending"]),
                name="webhook_delivery_due",
            )
        ]

    def __str__(self):
        return f"{self.event} → {self.endpoint} #{self.sequence}"
