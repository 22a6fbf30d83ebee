"""After joining: preferences, unsubscribing, erasure and the right of access. Joining and
confirming are newsletter.subscribers.signups.

Decisions (DESIGN.md leaves them open):
- Erasure deletes the person and every copy of the address elsewhere (signup requests, delivery
  errors quoting it, ESP events, the admin's history), and keeps a keyed hash of it, so it is never
  mailed by mistake and an import cannot bring it back.
"""

from datetime import timedelta

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from newsletter import series
from newsletter.campaigns import abtest
from newsletter.engagement import rsvp
from newsletter.models import (
    ConsentWording,
    Delivery,
    InboundMessage,
    SignupRequest,
    Subscriber,
    Suppression,
    Topic,
    WebhookEvent,
)
from newsletter.subscribers import policy
from newsletter.subscribers.addresses import clean_name


def update_preferences(
    *,
    subscriber_id: int,
    first_name: str,
    topic_slugs: list[str],
    allow_tracking: bool,
    digest_only: bool = False,
    time_zone: str | None = None,
) -> Subscriber | None:
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(pk=subscriber_id).first()
        if subscriber is None:
            return None
        subscriber.first_name = clean_name(first_name)
        subscriber.allow_tracking = allow_tracking
        subscriber.digest_only = digest_only
        fields = ["first_name", "allow_tracking", "digest_only", "updated_at"]
        if time_zone is not None:  # a form without the field keeps the zone
            subscriber.time_zone = time_zone
            fields.append("time_zone")
        subscriber.save(update_fields=fields)
        had = set(subscriber.topics.values_list("pk", flat=True))
        subscriber.topics.set(Topic.objects.filter(slug__in=topic_slugs))
        added = set(subscriber.topics.values_list("pk", flat=True)) - had
        series.enrol_on_topics(subscriber=subscriber, topic_ids=added)
    return subscriber


def unsubscribe(*, subscriber_id: int, reason: str = "", comment: str = "") -> bool:
    """Idempotent: True only for the call that made the change. `reason` (a
    Subscriber.LeavingReason or "") and `comment` are what the reader chose to tell us."""
    now = timezone.now()
    changed = Subscriber.objects.filter(
        pk=subscriber_id, status__in=[Subscriber.Status.PENDING, Subscriber.Status.ACTIVE]
    ).update(
        status=Subscriber.Status.UNSUBSCRIBED,
        unsubscribed_at=now,
        updated_at=now,
        leaving_reason=reason,
        leaving_comment=comment,
    )
    return bool(changed)


PAUSE_DAYS = 30


def pause(*, subscriber_id: int) -> None:
    """No campaigns for a month (see delivery.audience)."""
    until = timezone.localdate() + timedelta(days=PAUSE_DAYS)
    Subscriber.objects.filter(pk=subscriber_id).update(
        paused_until=until, updated_at=timezone.now()
    )


def resume(*, subscriber_id: int) -> None:
    Subscriber.objects.filter(pk=subscriber_id).update(paused_until=None, updated_at=timezone.now())


def resubscribe(*, subscriber_id: int, ip: str | None, user_agent: str) -> bool:
    """The owner of an unsubscribed address re-joins from their own preference link, which
    proves the address as a confirmation does: the same rule lifts their unsubscription, and
    nothing lifts a bounce or a complaint. True when they are active again."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(pk=subscriber_id).first()
        if subscriber is None or subscriber.status != Subscriber.Status.UNSUBSCRIBED:
            return False
        if not policy.lift_on_confirmation(subscriber.email):
            return False
        now = timezone.now()
        subscriber.status = Subscriber.Status.ACTIVE
        subscriber.unsubscribed_at = None
        subscriber.leaving_reason = ""
        subscriber.leaving_comment = ""
        subscriber.consent_at = now
        subscriber.consent_source = "preference centre: resubscribed"
        subscriber.consent_ip = ip
        subscriber.consent_user_agent = user_agent[:400]
        subscriber.save()
    return True


def erase(*, subscriber_id: int) -> bool:
    """Delete the person and keep only a keyed hash of the address, so it is never mailed by
    mistake. Deliveries stay (subscriber=NULL) so sent campaigns' counts stay true."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(pk=subscriber_id).first()
        if subscriber is None:
            return False
        policy.suppress(subscriber.pk, Suppression.Reason.ERASED)
        _forget_address(subscriber.email, subscriber.pk)
        # Their answers go too, and their places to the waitlist.
        rsvp.forget_subscriber(subscriber_id=subscriber.pk, email=subscriber.email)
        subscriber.delete()
    return True


def _forget_address(email: str, subscriber_id: int) -> None:
    """Every other row that names the address. A table that stores one joins this list."""
    SignupRequest.objects.filter(email=email).delete()
    # An SMTP reply often quotes the recipient ("550 5.1.1 <x@example.org>: no such user").
    Delivery.objects.filter(
        Q(subscriber_id=subscriber_id) | Q(last_error__icontains=email), ~Q(last_error="")
    ).update(last_error="")
    # A replay of a deleted event finds no delivery with a subscriber, so it changes nothing.
    WebhookEvent.objects.filter(
        Q(recipient__iexact=email) | Q(delivery__subscriber_id=subscriber_id)
    ).delete()
    # A bounce report or a reply quotes the address in its bytes.
    InboundMessage.objects.filter(
        Q(recipient__iexact=email) | Q(subscriber_id=subscriber_id)
    ).delete()
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Subscriber), object_id=str(subscriber_id)
    ).update(object_repr="(erased)")


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
        "digest_only": subscriber.digest_only,
        "paused_until": when(subscriber.paused_until),
        "time_zone": subscriber.time_zone,
        "leaving": {"reason": subscriber.leaving_reason, "comment": subscriber.leaving_comment},
        "created_at": when(subscriber.created_at),
        "confirmation_sent_at": when(subscriber.confirmation_sent_at),
        "confirmed_at": when(subscriber.confirmed_at),
        "unsubscribed_at": when(subscriber.unsubscribed_at),
        "suppressed_at": when(subscriber.suppressed_at),
        "lawful_basis": subscriber.lawful_basis,
        "lawful_basis_evidence": subscriber.lawful_basis_evidence,
        "consent": {
            "at": when(subscriber.consent_at),
            "source": subscriber.consent_source,
            "ip": subscriber.consent_ip,
            "user_agent": subscriber.consent_user_agent,
            "wording_version": subscriber.consent_version,
            "wording": ConsentWording.objects.filter(version=subscriber.consent_version)
            .values_list("text", flat=True)
            .first(),
            "allow_tracking": subscriber.allow_tracking,
        },
        "signup_requests": [
            {
                "at": when(signup.created_at),
                "first_name": signup.first_name,
                "topics": signup.topics,
                "allow_tracking": signup.allow_tracking,
                "source": signup.source,
                "ip": signup.ip,
                "user_agent": signup.user_agent,
                "time_zone": signup.time_zone,
                "confirmation_sent_at": when(signup.confirmation_sent_at),
                "confirmed_at": when(signup.confirmed_at),
            }
            for signup in SignupRequest.objects.filter(email=subscriber.email).order_by("id")
        ],
        "emails": [
            {
                "subject": delivery.received_subject,
                "status": delivery.status,
                "sent_at": when(delivery.sent_at),
                "opened_at": when(delivery.opened_at),
                "clicked_at": when(delivery.clicked_at),
            }
            for delivery in abtest.with_received_subject(subscriber.deliveries.order_by("id"))
        ],
        "series": [
            {
                "series": enrolment.series.name,
                "status": enrolment.status,
                "stopped_reason": enrolment.stopped_reason,
                "enrolled_at": when(enrolment.created_at),
                "next_email_at": when(enrolment.next_at),
            }
            for enrolment in subscriber.enrolments.select_related("series").order_by("id")
        ],
        **rsvp.personal_data(subscriber),
    }
