"""Rules about readers that more than one path applies, each in one function.

- `may_mail` / `mailable`: whether we may mail this reader at all (active, not suppressed), as a
  predicate on a row and as a query; every path that mails readers asks it (the audience, the
  send batch, event reminders, series enrolment and tick, RSVP emails). `not_paused`: the
  reader's "fewer emails" pause, for what they can pause (campaigns, digests, series steps).
  `may_send_requested`: an email the reader asked for (RSVP emails, test sends).
- `may_track`: whether opens or clicks of a reader may be recorded (our own tracking, when their
  message is rendered and when they act, and an ESP's tracking events).
- `suppress`: stop mailing an address for good, on the one suppression list (a bounce at send
  time, an ESP's bounce, complaint or unsubscribe, an erasure); `is_suppressed`, `blocks_signup`,
  `lift_on_confirmation` and `listed` are how the import, signup and the audience read it.
"""

from datetime import date, datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from newsletter.models import Subscriber, Suppression
from newsletter.subscribers.addresses import stored_address_hash, suppression_hash


def may_mail(subscriber: Subscriber | None) -> bool:
    """Whether we may mail this reader: an active subscriber whose address is not suppressed.
    (An address on the suppression list without a row, or whose row says active, is caught by
    `listed` / `is_suppressed`, asked where the address is known.)"""
    return (
        subscriber is not None
        and subscriber.status == Subscriber.Status.ACTIVE
        and subscriber.suppressed_at is None
    )


def may_send_requested(subscriber: Subscriber | None, email: str) -> bool:
    """Whether an email the reader asked for (an RSVP's answer or link, a test send to an address)
    may go: anyone whose address is not suppressed. Leaving the list is not refusing the answer
    to one's own request; a bounce, a complaint or a listed address is."""
    if subscriber is not None and (
        subscriber.suppressed_at is not None or subscriber.status in SUPPRESSED
    ):
        return False
    return not is_suppressed(email)


def mailable(prefix: str = "") -> Q:
    """`may_mail` as a query over Subscriber, or over a relation to it (`prefix="subscriber__"`)."""
    return Q(**{f"{prefix}status": Subscriber.Status.ACTIVE, f"{prefix}suppressed_at": None})


def not_paused(prefix: str = "", on: date | None = None) -> Q:
    """The reader has not paused their mail past `on` (today): "nothing before this date"."""
    on = on or timezone.localdate()
    return Q(**{f"{prefix}paused_until": None}) | Q(**{f"{prefix}paused_until__lte": on})


OPENS = "opens"
CLICKS = "clicks"

# Who a suppression moves: someone who already left (unsubscribed) or is already suppressed keeps
# the reason they have; a later bounce does not rewrite their history.
SUPPRESSIBLE = (Subscriber.Status.PENDING, Subscriber.Status.ACTIVE)
SUPPRESSED = (Subscriber.Status.BOUNCED, Subscriber.Status.COMPLAINED)


def may_track(campaign, subscriber: Subscriber | None, what: str | None = None) -> bool:
    """Whether `what` (OPENS, CLICKS, or None for either) of this reader of `campaign` may be
    recorded: only where the campaign asks for it and the reader has not declined. Asked again
    when the reader acts, since they may have declined after the message went out."""
    if what == OPENS:
        wanted = campaign.track_opens
    elif what == CLICKS:
        wanted = campaign.track_clicks
    else:
        wanted = campaign.track_opens or campaign.track_clicks
    return bool(wanted) and subscriber is not None and subscriber.allow_tracking


Reason = Suppression.Reason
# Strongest first: one row per address keeps the strongest reason it was given.
STRENGTH = [Reason.COMPLAINED, Reason.BOUNCED, Reason.UNSUBSCRIBED, Reason.ERASED]
# What a fresh signup lifts once its owner confirms it; nothing lifts a bounce or a complaint.
LIFTED_BY_CONFIRMATION = [Reason.UNSUBSCRIBED, Reason.ERASED]
# The status a suppression gives a pending or active subscriber.
STATUS_FOR = {
    Reason.BOUNCED: Subscriber.Status.BOUNCED,
    Reason.COMPLAINED: Subscriber.Status.COMPLAINED,
    Reason.UNSUBSCRIBED: Subscriber.Status.UNSUBSCRIBED,
}


def suppress(subscriber_id: int | None, reason: str, at: datetime | None = None) -> bool:
    """Never mail this subscriber's address again, for `reason` (a Suppression.Reason; the
    bounced, complained and unsubscribed statuses are also the names of their reasons).

    The hashed row is written whatever the subscriber's status, and outlives an erasure; an
    address already listed keeps the stronger reason. A pending or active subscriber takes the
    matching status; one who already left (unsubscribed, bounced, complained) keeps theirs. True
    when the subscriber's status changed; False when there is nobody (erased since the send)."""
    if subscriber_id is None:
        return False
    email = Subscriber.objects.filter(pk=subscriber_id).values_list("email", flat=True).first()
    if email is None:
        return False
    now = timezone.now()
    with transaction.atomic():
        _list(email, reason)
        status = STATUS_FOR.get(reason)
        if status is None:  # erased: the row is about to go
            return False
        when = "unsubscribed_at" if status == Subscriber.Status.UNSUBSCRIBED else "suppressed_at"
        changed = Subscriber.objects.filter(pk=subscriber_id, status__in=SUPPRESSIBLE).update(
            status=status, updated_at=now, **{when: at or now}
        )
    return bool(changed)


def _list(email: str, reason: str) -> None:
    row, created = Suppression.objects.select_for_update().get_or_create(
        email_hash=suppression_hash(email), defaults={"reason": reason}
    )
    if not created and _strength(reason) < _strength(row.reason):
        Suppression.objects.filter(pk=row.pk).update(reason=reason)


def _strength(reason: str) -> int:
    return STRENGTH.index(reason) if reason in STRENGTH else len(STRENGTH)


def is_suppressed(email: str) -> bool:
    """Listed for any reason: the import refuses it."""
    return Suppression.objects.filter(email_hash=suppression_hash(email)).exists()


def blocks_signup(email: str) -> bool:
    """Listed for a bounce or a complaint: no signup gets past it (no confirmation email)."""
    rows = Suppression.objects.filter(email_hash=suppression_hash(email))
    return rows.exclude(reason__in=LIFTED_BY_CONFIRMATION).exists()


def lift_on_confirmation(email: str) -> bool:
    """Its owner confirmed a fresh signup: an unsubscription or an erasure is lifted. False, and
    nothing lifted, when the address is listed for a bounce or a complaint."""
    rows = Suppression.objects.filter(email_hash=suppression_hash(email))
    if rows.exclude(reason__in=LIFTED_BY_CONFIRMATION).exists():
        return False
    rows.delete()
    return True


def listed(emails: list[str]) -> set[str]:
    """Those of `emails` (stored addresses, so already normalised) that are on the list: one
    indexed lookup for the lot."""
    by_hash = {stored_address_hash(email): email for email in emails}
    found = Suppression.objects.filter(email_hash__in=list(by_hash))
    return {by_hash[digest] for digest in found.values_list("email_hash", flat=True)}
