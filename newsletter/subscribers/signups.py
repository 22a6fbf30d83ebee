"""Joining: a signup request, its confirmation email, and the confirmation that applies it.

Decisions (DESIGN.md leaves them open):
- Every signup does the same work while the visitor waits: one INSERT of a SignupRequest and one
  queued task, whether the address is new, pending, active or unknown. The task decides, so neither
  the answer nor its timing tells whether an address is known.
- A request proves nothing about the address, so it changes no one's record. A new address gets a
  pending subscriber with the request's details (there is no one else's record to change); for a
  pending or unsubscribed address the details wait in the request, and confirming its link applies
  them. An unsubscribed address stays unsubscribed until then. Active, bounced and complained
  addresses are left as they are (an active person changes topics from the preference centre).
- Confirmation emails: at most one per CONFIRMATION_RESEND_INTERVAL and CONFIRMATION_DAILY_CAP a
  day per address, whoever asks (the list-bombing guard).
- Confirmation is a POST from the page the link opens: mail scanners follow links, and a GET that
  confirmed would let them subscribe anyone.
- The suppression list (newsletter.subscribers.policy): a fresh signup may create a new pending
  subscriber for an erased or unsubscribed-by-mail address, and confirming it lifts that:
  confirming proves the owner wants mail again. A bounce or a complaint is never lifted: no
  confirmation email goes out.
"""

import unicodedata
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from newsletter import series
from newsletter.mail.emails import make_message
from newsletter.models import SignupRequest, Subscriber, Topic
from newsletter.subscribers import enqueue, policy
from newsletter.subscribers.timezones import known_zone
from newsletter.subscribers.tokens import confirm_url

_AWAITING = [Subscriber.Status.PENDING, Subscriber.Status.UNSUBSCRIBED]


class Confirmation(StrEnum):
    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already-confirmed"
    GONE = "gone"  # unsubscribed, suppressed or erased since the link was sent


def signup_request(
    *,
    email: str,
    first_name: str = "",
    topic_slugs: list[str] | None = None,
    allow_tracking: bool = False,
    source: str,
    ip: str | None = None,
    user_agent: str = "",
    time_zone: str = "",
) -> SignupRequest:
    """Store a signup (validated and normalised by the caller; `topic_slugs=None` means every
    topic) and queue its processing: before the caller answers, the same for every address."""
    signup = SignupRequest.objects.create(
        email=email,
        first_name=first_name,
        topics=topic_slugs,
        allow_tracking=allow_tracking,
        source=source[:200],
        ip=ip or None,
        user_agent=_without_control_characters(user_agent or "")[:400],
        consent_version=settings.CONSENT_VERSION,
        time_zone=known_zone(time_zone),
    )
    enqueue.signup_processing(signup.pk)
    return signup


def _without_control_characters(text: str) -> str:
    # A header is the client's to choose, and PostgreSQL cannot store a NUL.
    return "".join(char for char in text if unicodedata.category(char) not in ("Cc", "Cs"))


def signup_process(*, signup_id: int) -> bool:
    """Create the subscriber of a new address, and send the confirmation where one is due. True
    when an email was sent. Safe to run twice (the resend guard holds)."""
    signup = SignupRequest.objects.filter(pk=signup_id, confirmed_at__isnull=True).first()
    if signup is None:
        return False
    subscriber, created = Subscriber.objects.get_or_create(
        email=signup.email, defaults=_details(signup)
    )
    if created:
        subscriber.topics.set(_topics(signup))
    if subscriber.status not in _AWAITING:
        return False
    return send_confirmation(signup_id=signup.pk)


def queue_confirmation(*, subscriber_id: int) -> None:
    """Send a pending subscriber (an import, say) a confirmation of the details already stored."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return
    signup = SignupRequest.objects.create(
        email=subscriber.email,
        first_name=subscriber.first_name,
        topics=list(subscriber.topics.values_list("slug", flat=True)),
        allow_tracking=subscriber.allow_tracking,
        source=subscriber.consent_source or "staff",
        consent_version=subscriber.consent_version or settings.CONSENT_VERSION,
    )
    enqueue.signup_processing(signup.pk)


def send_confirmation(*, signup_id: int) -> bool:
    """The double opt-in email for one request, within the per-address limits. True when sent."""
    signup = SignupRequest.objects.filter(pk=signup_id, confirmed_at__isnull=True).first()
    if signup is None or policy.blocks_signup(signup.email):
        return False
    subscriber = Subscriber.objects.filter(email=signup.email, status__in=_AWAITING).first()
    if subscriber is None:
        return False
    now = timezone.now()
    sent_today = SignupRequest.objects.filter(
        email=signup.email, confirmation_sent_at__gt=now - timedelta(days=1)
    ).count()
    if sent_today >= settings.CONFIRMATION_DAILY_CAP:
        return False
    cutoff = now - timedelta(seconds=settings.CONFIRMATION_RESEND_INTERVAL)
    # The conditional UPDATE is the guard: of two workers (or two signups) racing, one wins.
    claimed = (
        Subscriber.objects.filter(pk=subscriber.pk, status__in=_AWAITING)
        .filter(Q(confirmation_sent_at__isnull=True) | Q(confirmation_sent_at__lte=cutoff))
        .update(confirmation_sent_at=now)
    )
    if not claimed:
        return False
    SignupRequest.objects.filter(pk=signup.pk).update(confirmation_sent_at=now)
    message = make_message(
        "confirm",
        signup.email,
        {
            "first_name": signup.first_name,
            "confirm_url": confirm_url(signup.pk),
            "expires_days": settings.CONFIRMATION_MAX_AGE // 86400,
            "topics": list(_topics(signup)),
        },
    )
    try:
        message.send()
    except Exception:
        # Give the claim back, so the retry (or the next signup) is not blocked for the interval.
        Subscriber.objects.filter(pk=subscriber.pk, confirmation_sent_at=now).update(
            confirmation_sent_at=subscriber.confirmation_sent_at
        )
        SignupRequest.objects.filter(pk=signup.pk).update(confirmation_sent_at=None)
        raise
    return True


def confirm(*, signup_id: int) -> tuple[Confirmation, int | None]:
    """Apply a confirmed request: its details become the subscriber's, who becomes active. A
    replayed link changes nothing; an old link never brings back someone who has since left.
    The outcome, and the subscriber's id unless GONE."""
    now = timezone.now()
    with transaction.atomic():
        signup = SignupRequest.objects.select_for_update().filter(pk=signup_id).first()
        if signup is None:  # erased, or older than its link
            return Confirmation.GONE, None
        subscriber = Subscriber.objects.select_for_update().filter(email=signup.email).first()
        if subscriber is None:
            return Confirmation.GONE, None
        if subscriber.status == Subscriber.Status.ACTIVE:
            return Confirmation.ALREADY_CONFIRMED, subscriber.pk
        if signup.confirmed_at is not None or not _may_confirm(subscriber, signup):
            return Confirmation.GONE, None
        if not policy.lift_on_confirmation(signup.email):  # a bounce or a complaint: never
            return Confirmation.GONE, None
        for field, value in _details(signup).items():
            setattr(subscriber, field, value)
        subscriber.status = Subscriber.Status.ACTIVE
        subscriber.confirmed_at = now
        subscriber.lawful_basis = Subscriber.LawfulBasis.CONSENT
        subscriber.lawful_basis_evidence = (
            f"Double opt-in: asked at {signup.created_at.isoformat()} from {signup.source}, "
            f"confirmed at {now.isoformat()} from the link emailed to the address."
        )
        subscriber.save()
        subscriber.topics.set(_topics(signup))
        SignupRequest.objects.filter(pk=signup.pk).update(confirmed_at=now)
        series.enrol_on_confirmation(
            subscriber=subscriber, topic_ids=_topics(signup).values_list("pk", flat=True), now=now
        )
    return Confirmation.CONFIRMED, subscriber.pk


def _may_confirm(subscriber: Subscriber, signup: SignupRequest) -> bool:
    if subscriber.status == Subscriber.Status.PENDING:
        return True
    # Only a request made after leaving brings an unsubscribed person back.
    left = subscriber.unsubscribed_at
    return (
        subscriber.status == Subscriber.Status.UNSUBSCRIBED
        and left is not None
        and signup.created_at > left
    )


def _details(signup: SignupRequest) -> dict:
    """What a request sets on the subscriber: the person's choices and the consent record."""
    return {
        "first_name": signup.first_name,
        "allow_tracking": signup.allow_tracking,
        "consent_at": signup.created_at,
        "consent_source": signup.source,
        "consent_ip": signup.ip,
        "consent_user_agent": signup.user_agent,
        "consent_version": signup.consent_version,
        # No zone sent (no JavaScript): a zone chosen before is kept.
        **({"time_zone": signup.time_zone} if signup.time_zone else {}),
    }


def _topics(signup: SignupRequest):
    topics = Topic.objects.all()
    if signup.topics is not None:
        topics = topics.filter(slug__in=signup.topics)
    return topics
