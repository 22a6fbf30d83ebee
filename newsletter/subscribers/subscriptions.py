"""After joining: preferences, unsubscribing, erasure and the right of access. Joining and
confirming are newsletter.subscribers.signups.

Decisions (DESIGN.md leaves them open):
- Erasure deletes the person and every copy of the address elsewhere (signup requests, delivery
  errors quoting it, ESP events, the admin's history), and keeps a keyed hash of it, so it is never
  mailed by mistake and an import cannot bring it back.
"""

import enum
from datetime import timedelta

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from newsletter import series
from newsletter.api import outbox
from newsletter.campaigns import abtest
from newsletter.engagement import rsvp
from newsletter.mail import access
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
from newsletter.subscribers.tokens import WAY_BACK_DAYS


def update_preferences(
    *,
    subscriber_id: int,
    first_name: str,
    topic_slugs: list[str],
    allow_tracking: bool,
    digest_only: bool = False,
    time_zone: str | None = None,
    access_choices: list[str] | None = None,
) -> Subscriber | None:
    """`time_zone`, `access_choices` None: kept as they are (a form without the field)."""
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
        if access_choices is not None:
            for name in access.FIELDS:
                setattr(subscriber, name, name in access_choices)
            fields.extend(access.FIELDS)
        subscriber.save(update_fields=fields)
        had = set(subscriber.topics.values_list("pk", flat=True))
        subscriber.topics.set(Topic.objects.filter(slug__in=topic_slugs))
        now_has = set(subscriber.topics.values_list("pk", flat=True))
        series.enrol_on_topics(subscriber=subscriber, topic_ids=now_has - had)
        if now_has != had:
            outbox.emit_subscriber(outbox.Type.SUBSCRIBER_TOPICS_CHANGED, subscriber.pk)
    return subscriber


def unsubscribe(*, subscriber_id: int, reason: str = "", comment: str = "") -> bool:
    """Idempotent: True only for the call that made the change. `reason` (a
    Subscriber.LeavingReason or "") and `comment` are what the reader chose to tell us."""
    now = timezone.now()
    with transaction.atomic():
        changed = Subscriber.objects.filter(
            pk=subscriber_id, status__in=[Subscriber.Status.PENDING, Subscriber.Status.ACTIVE]
        ).update(
            status=Subscriber.Status.UNSUBSCRIBED,
            unsubscribed_at=now,
            updated_at=now,
            leaving_reason=reason,
            leaving_comment=comment,
        )
        if changed:
            outbox.emit_subscriber(outbox.Type.SUBSCRIBER_UNSUBSCRIBED, subscriber_id)
    return bool(changed)


PAUSE_DAYS = 30
PAUSE_MONTHS = (1, 3)  # what the preference centre and the unsubscribe page offer


def pause(*, subscriber_id: int, months: int = 1):
    """No campaigns for `months` months of PAUSE_DAYS (see delivery.audience); the date they
    resume."""
    until = timezone.localdate() + timedelta(days=PAUSE_DAYS * months)
    Subscriber.objects.filter(pk=subscriber_id).update(
        paused_until=until, updated_at=timezone.now()
    )
    return until


def digests_only(*, subscriber_id: int) -> bool:
    """Fewer emails: digests, no one-off campaigns. True when that changed something."""
    return bool(
        Subscriber.objects.filter(pk=subscriber_id, digest_only=False).update(
            digest_only=True, updated_at=timezone.now()
        )
    )


def keep_only_topics(*, subscriber_id: int, topic_slugs: list[str]) -> bool:
    """Fewer emails: only these of the reader's topics (at least one). True when that changed
    something."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(pk=subscriber_id).first()
        if subscriber is None or not topic_slugs:
            return False
        had = set(subscriber.topics.values_list("slug", flat=True))
        wanted = set(Topic.objects.filter(slug__in=topic_slugs).values_list("slug", flat=True))
        if not wanted or wanted == had:
            return False
        update_preferences(
            subscriber_id=subscriber_id,
            first_name=subscriber.first_name,
            topic_slugs=sorted(wanted),
            allow_tracking=subscriber.allow_tracking,
            digest_only=subscriber.digest_only,
        )
    return True


def record_leaving_reason(*, subscriber_id: int, reason: str = "", comment: str = "") -> bool:
    """Why a reader who has unsubscribed left, told afterwards (each part optional; a part left
    empty keeps what was told before). True when stored."""
    changes = {"updated_at": timezone.now()}
    if reason:
        changes["leaving_reason"] = reason
    if comment:
        changes["leaving_comment"] = comment
    return bool(
        Subscriber.objects.filter(pk=subscriber_id, status=Subscriber.Status.UNSUBSCRIBED).update(
            **changes
        )
    )


def resume(*, subscriber_id: int) -> None:
    Subscriber.objects.filter(pk=subscriber_id).update(paused_until=None, updated_at=timezone.now())


class Return(enum.Enum):
    BACK = "back"
    TOO_LATE = "too late"  # the grace period is over: joining again means a new opt-in
    REFUSED = "refused"  # a bounce or a complaint: nothing lifts those
    NOT_LEFT = "not left"  # active, pending or unknown: nothing to do


def way_back_until(subscriber: Subscriber):
    """When the grace period of a reader who unsubscribed ends (None if they have not left)."""
    if subscriber.status != Subscriber.Status.UNSUBSCRIBED or subscriber.unsubscribed_at is None:
        return None
    return subscriber.unsubscribed_at + timedelta(days=WAY_BACK_DAYS)


def resubscribe(*, subscriber_id: int, ip: str | None, user_agent: str) -> Return:
    """The owner of an unsubscribed address comes back within WAY_BACK_DAYS of leaving, from
    their own link or browser session, which proves the address as a confirmation does: the same
    rule lifts their unsubscription, and nothing lifts a bounce or a complaint. Later, consent
    that old is not renewed by one press: they join again with a new opt-in."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(pk=subscriber_id).first()
        if subscriber is None or subscriber.status != Subscriber.Status.UNSUBSCRIBED:
            return Return.NOT_LEFT
        until = way_back_until(subscriber)
        if until is None or timezone.now() > until:
            return Return.TOO_LATE
        if not policy.lift_on_confirmation(subscriber.email):
            return Return.REFUSED
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
    return Return.BACK


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
        outbox.emit_erased(subscriber_id)
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
    # Webhook events about them, delivered or still waiting, keep their id alone.
    outbox.forget(subscriber_id)
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
        "access": {name: getattr(subscriber, name) for name in access.FIELDS},
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
                "access": signup.access,
                "confirmation_sent_at": when(signup.confirmation_sent_at),
                "confirmed_at": when(signup.confirmed_at),
            }
            for signup in SignupRequest.objects.filter(email=subscriber.email).order_by("id")
        ],
        "emails": [
            {
                "subject": delivery.received_subject,
                "status": delivery.status,
                "attempts": delivery.attempts,
                "last_error": delivery.last_error,
                "sent_at": when(delivery.sent_at),
                "delivered_at": when(delivery.delivered_at),
                "opened_at": when(delivery.opened_at),
                "clicked_at": when(delivery.clicked_at),
                "complained_at": when(delivery.complained_at),
                # Which links: a click on an ALS-symptoms page says something about the reader.
                "clicks": [
                    {"url": click.url, "at": when(click.created_at)}
                    for click in delivery.clicks.order_by("id")
                ],
                "mail_provider_events": [
                    {"esp": event.esp, "event": event.event_type, "at": when(event.occurred_at)}
                    for event in delivery.events.order_by("id")
                ],
            }
            for delivery in abtest.with_received_subject(subscriber.deliveries.order_by("id"))
        ],
        "messages_back": [
            {
                "kind": message.kind,
                "source": message.source,
                "reason": message.reason,
                "received_at": when(message.received_at),
            }
            for message in subscriber.inbound.order_by("id")
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
