"""Retention: what is kept only for a while, deleted or blanked once its period has passed.

Each rule is one function that returns how many rows it changed; `RULES` is the list the daily beat
task runs (newsletter.tasks.apply_retention). A table that stores personal data for a limited time
adds its function there. Periods are settings (README, "Data protection").
"""

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from newsletter.models import (
    Delivery,
    InboundMessage,
    SignupRequest,
    Subscriber,
    SubscriberImport,
    WebhookEvent,
)


def _before(days: int):
    return timezone.now() - timedelta(days=days)


def purge_webhook_events() -> int:
    """ESP events: needed to recognise a replay and count a soft-bounce streak, not for ever."""
    cutoff = _before(settings.RETENTION_WEBHOOK_EVENTS_DAYS)
    deleted, _ = WebhookEvent.objects.filter(received_at__lt=cutoff).delete()
    return deleted


def strip_inbound_raw() -> int:
    """The raw bytes of mail that came back hold other people's mail; the classification row (when,
    kind, whom, why) stays."""
    cutoff = _before(settings.INBOUND_RETENTION_DAYS)
    return InboundMessage.objects.filter(raw__isnull=False, received_at__lt=cutoff).update(raw=None)


def purge_inbound_messages() -> int:
    """Mail that came back (bounce reports, complaints, replies): they quote addresses and text."""
    cutoff = _before(settings.RETENTION_INBOUND_MESSAGES_DAYS)
    deleted, _ = InboundMessage.objects.filter(received_at__lt=cutoff).delete()
    return deleted


def strip_delivery_errors() -> int:
    """A delivery's last error is an SMTP reply that often quotes the address; the status stays."""
    cutoff = _before(settings.RETENTION_DELIVERY_ERRORS_DAYS)
    return (
        Delivery.objects.filter(updated_at__lt=cutoff).exclude(last_error="").update(last_error="")
    )


def strip_consent_network_details() -> int:
    """The IP address and user agent of a signup: evidence for a while, then only when, where
    (the page) and which wording remain."""
    cutoff = _before(settings.RETENTION_CONSENT_NETWORK_DAYS)
    return (
        Subscriber.objects.filter(consent_at__lt=cutoff)
        .filter(Q(consent_ip__isnull=False) | ~Q(consent_user_agent=""))
        .update(consent_ip=None, consent_user_agent="")
    )


def purge_unconfirmed_subscribers() -> int:
    """Pending subscribers no one confirmed: a signup proves nothing about the address, so the
    record of someone who never agreed is not kept. Asking again (a signup, a staff resend)
    restarts the period."""
    cutoff = _before(settings.RETENTION_UNCONFIRMED_DAYS)
    recent = SignupRequest.objects.filter(created_at__gte=cutoff).values("email")
    _, by_model = (
        Subscriber.objects.filter(status=Subscriber.Status.PENDING, created_at__lt=cutoff)
        .exclude(email__in=recent)
        .delete()
    )
    return by_model.get(Subscriber._meta.label, 0)  # not counting their topic links


def purge_signup_requests() -> int:
    """Signup requests older than their confirmation links: nothing can confirm them any more."""
    cutoff = timezone.now() - timedelta(seconds=settings.CONFIRMATION_MAX_AGE)
    deleted, _ = SignupRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def strip_import_files() -> int:
    """An uploaded CSV is a list of people: its import deletes it when done; one left unimported
    (or stuck) goes after RETENTION_IMPORT_FILE_HOURS, and the job can no longer start."""
    cutoff = timezone.now() - timedelta(hours=settings.RETENTION_IMPORT_FILE_HOURS)
    return (
        SubscriberImport.objects.filter(created_at__lt=cutoff)
        .exclude(data="")
        .update(
            data="",
            status=SubscriberImport.Status.FAILED,
            error="The uploaded file was deleted, unimported, after a day: upload it again.",
        )
    )


RULES: list[Callable[[], int]] = [
    purge_webhook_events,
    strip_inbound_raw,
    purge_inbound_messages,
    strip_delivery_errors,
    strip_consent_network_details,
    purge_unconfirmed_subscribers,
    purge_signup_requests,
    strip_import_files,
]


def apply_retention() -> dict[str, int]:
    """Run every rule; rows changed, by rule."""
    return {rule.__name__: rule() for rule in RULES}
