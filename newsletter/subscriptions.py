"""Subscribing and everything after it: the services that views, admin, tasks and commands share.

Decisions (DESIGN.md leaves them open):
- A signup for an address that is already active changes nothing (not even topics): the request
  proves no ownership of the address, and the answer must be the same as for a new one. The person
  changes topics from the preference centre linked in every email.
- A signup for a pending or unsubscribed address records the new consent and (re)sends the
  confirmation, subject to the resend interval; an unsubscribed address stays out of every audience
  until its owner confirms again. Bounced and complained addresses are left as they are.
- An erased address stays on the suppression list (newsletter.policy). Imports refuse it; a fresh
  double opt-in signup may create a new pending subscriber, and confirming it lifts an erasure or
  an unsubscription by mail, because confirming proves the owner of the address wants mail again.
  Nothing lifts a bounce or a complaint: such an address gets no confirmation email.
"""

import csv
import unicodedata
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import policy
from .addresses import clean_name, normalise_email
from .emails import make_message
from .models import Subscriber, Suppression, Topic, WebhookEvent
from .tokens import confirm_url


class Confirmation(StrEnum):
    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already-confirmed"
    GONE = "gone"  # unsubscribed, suppressed or erased since the link was sent


def subscribe(
    *,
    email: str,
    first_name: str = "",
    topic_slugs: list[str] | None = None,
    source: str,
    ip: str | None = None,
    user_agent: str = "",
) -> Subscriber:
    """Record a signup and queue its confirmation. The caller has validated the topic slugs;
    `None` means every topic."""
    email = normalise_email(email)
    first_name = clean_name(first_name)
    topics = Topic.objects.all()
    if topic_slugs is not None:
        topics = topics.filter(slug__in=topic_slugs)
    consent = {
        "consent_at": timezone.now(),
        "consent_source": source[:200],
        "consent_ip": ip or None,
        "consent_user_agent": _without_control_characters(user_agent or "")[:400],
        "consent_version": settings.CONSENT_VERSION,
    }
    with transaction.atomic():
        subscriber, created = Subscriber.objects.select_for_update().get_or_create(
            email=email, defaults={"first_name": first_name, **consent}
        )
        if created:
            subscriber.topics.add(*topics)  # nothing to replace: one INSERT, no lookup first
        elif subscriber.status in (Subscriber.Status.PENDING, Subscriber.Status.UNSUBSCRIBED):
            subscriber.status = Subscriber.Status.PENDING
            if first_name:
                subscriber.first_name = first_name
            for field, value in consent.items():
                setattr(subscriber, field, value)
            subscriber.save()
            subscriber.topics.set(topics)
        if subscriber.status == Subscriber.Status.PENDING:
            queue_confirmation(subscriber_id=subscriber.pk)
    return subscriber


def _without_control_characters(text: str) -> str:
    # A header is the client's to choose, and PostgreSQL cannot store a NUL.
    return "".join(char for char in text if unicodedata.category(char) not in ("Cc", "Cs"))


def queue_confirmation(*, subscriber_id: int) -> None:
    """Send the confirmation from a worker once the current transaction commits."""
    from .tasks import send_confirmation as send_confirmation_task

    transaction.on_commit(lambda: send_confirmation_task.delay(subscriber_id))


def send_confirmation(*, subscriber_id: int) -> bool:
    """Send the double opt-in email, at most once per CONFIRMATION_RESEND_INTERVAL per address,
    whoever asks (the list-bombing guard). True when an email was sent."""
    subscriber = Subscriber.objects.filter(
        pk=subscriber_id, status=Subscriber.Status.PENDING
    ).first()
    if subscriber is None or policy.blocks_signup(subscriber.email):
        return False
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.CONFIRMATION_RESEND_INTERVAL)
    # The conditional UPDATE is the guard: of two workers (or two signups) racing, one wins.
    claimed = (
        Subscriber.objects.filter(pk=subscriber_id, status=Subscriber.Status.PENDING)
        .filter(Q(confirmation_sent_at__isnull=True) | Q(confirmation_sent_at__lte=cutoff))
        .update(confirmation_sent_at=now)
    )
    if not claimed:
        return False
    message = make_message(
        "confirm",
        subscriber.email,
        {
            "first_name": subscriber.first_name,
            "confirm_url": confirm_url(subscriber.pk),
            "expires_days": settings.CONFIRMATION_MAX_AGE // 86400,
            "topics": list(subscriber.topics.all()),
        },
    )
    try:
        message.send()
    except Exception:
        # Give the claim back, so the retry (or the next signup) is not blocked for the interval.
        Subscriber.objects.filter(pk=subscriber_id, confirmation_sent_at=now).update(
            confirmation_sent_at=subscriber.confirmation_sent_at
        )
        raise
    return True


def confirm(*, subscriber_id: int) -> Confirmation:
    """pending → active. A replayed link changes nothing; an old link never brings back someone
    who has since unsubscribed, bounced or been erased."""
    now = timezone.now()
    with transaction.atomic():
        activated = Subscriber.objects.filter(
            pk=subscriber_id, status=Subscriber.Status.PENDING
        ).update(status=Subscriber.Status.ACTIVE, confirmed_at=now, updated_at=now)
        if activated:
            email = Subscriber.objects.values_list("email", flat=True).get(pk=subscriber_id)
            if policy.lift_on_confirmation(email):
                return Confirmation.CONFIRMED
            transaction.set_rollback(True)  # a bounce or a complaint: nothing lifts it
            return Confirmation.GONE
    status = Subscriber.objects.filter(pk=subscriber_id).values_list("status", flat=True).first()
    if status == Subscriber.Status.ACTIVE:
        return Confirmation.ALREADY_CONFIRMED
    return Confirmation.GONE


def update_preferences(
    *, subscriber_id: int, first_name: str, topic_slugs: list[str], allow_tracking: bool
) -> Subscriber | None:
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(pk=subscriber_id).first()
        if subscriber is None:
            return None
        subscriber.first_name = clean_name(first_name)
        subscriber.allow_tracking = allow_tracking
        subscriber.save(update_fields=["first_name", "allow_tracking", "updated_at"])
        subscriber.topics.set(Topic.objects.filter(slug__in=topic_slugs))
    return subscriber


def unsubscribe(*, subscriber_id: int) -> bool:
    """Idempotent: True only for the call that made the change."""
    now = timezone.now()
    changed = Subscriber.objects.filter(
        pk=subscriber_id, status__in=[Subscriber.Status.PENDING, Subscriber.Status.ACTIVE]
    ).update(status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=now, updated_at=now)
    return bool(changed)


def erase(*, subscriber_id: int) -> bool:
    """Delete the person and keep only a hash of the address, so it is never mailed by mistake.
    Deliveries stay (subscriber=NULL) so sent campaigns' counts stay true."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(pk=subscriber_id).first()
        if subscriber is None:
            return False
        policy.suppress(subscriber.pk, Suppression.Reason.ERASED)
        # ESP events name the recipient; the event stays (it is what makes webhooks idempotent).
        WebhookEvent.objects.filter(recipient__iexact=subscriber.email).update(recipient="")
        subscriber.delete()
    return True


def export_data(subscriber: Subscriber) -> dict:
    """Everything stored about one person (the right of access), as JSON-ready values."""

    def when(value):
        return value.isoformat() if value else None

    return {
        "email": subscriber.email,
        "first_name": subscriber.first_name,
        "status": subscriber.status,
        "topics": [topic.slug for topic in subscriber.topics.all()],
        "allow_tracking": subscriber.allow_tracking,
        "created_at": when(subscriber.created_at),
        "confirmation_sent_at": when(subscriber.confirmation_sent_at),
        "confirmed_at": when(subscriber.confirmed_at),
        "unsubscribed_at": when(subscriber.unsubscribed_at),
        "suppressed_at": when(subscriber.suppressed_at),
        "consent": {
            "at": when(subscriber.consent_at),
            "source": subscriber.consent_source,
            "ip": subscriber.consent_ip,
            "user_agent": subscriber.consent_user_agent,
            "wording_version": subscriber.consent_version,
        },
        "emails": [
            {
                "subject": delivery.campaign.subject,
                "status": delivery.status,
                "sent_at": when(delivery.sent_at),
                "opened_at": when(delivery.opened_at),
                "clicked_at": when(delivery.clicked_at),
            }
            for delivery in subscriber.deliveries.select_related("campaign").order_by("id")
        ],
    }


CSV_FIELDS = [
    "email",
    "first_name",
    "status",
    "topics",
    "created_at",
    "confirmed_at",
    "unsubscribed_at",
    "consent",
    "consent_at",
    "consent_source",
    "consent_version",
]


def write_csv(subscribers, out) -> int:
    """Write subscribers as CSV (the columns import_subscribers reads back); the row count."""
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    count = 0
    for subscriber in subscribers.prefetch_related("topics").order_by("id").iterator(2000):
        row = {
            "email": subscriber.email,
            "first_name": subscriber.first_name,
            "status": subscriber.status,
            "topics": " ".join(topic.slug for topic in subscriber.topics.all()),
            "created_at": subscriber.created_at.isoformat(),
            "confirmed_at": _iso(subscriber.confirmed_at),
            "unsubscribed_at": _iso(subscriber.unsubscribed_at),
            # "yes" only for people who confirmed: import_subscribers makes them active again.
            "consent": "yes" if subscriber.status == Subscriber.Status.ACTIVE else "",
            "consent_at": _iso(subscriber.consent_at),
            "consent_source": subscriber.consent_source,
            "consent_version": subscriber.consent_version,
        }
        writer.writerow([_spreadsheet_safe(row[field]) for field in CSV_FIELDS])
        count += 1
    return count


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _spreadsheet_safe(value: str) -> str:
    # A name like "=HYPERLINK(...)" would run as a formula when staff open the file.
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value
