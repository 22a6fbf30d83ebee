"""RSVPs to events: answers, capacity and the waitlist, visitors' RSVPs and their emails.

Decisions (the issue leaves them open):
- A reader is a subscriber (their link is signed for (subscriber, event)) or a visitor who gave an
  address on the public event page; the visitor's link is emailed to that address, so answering
  from it proves the address is theirs. Until then their row is `unconfirmed` and holds no place.
- The capacity check locks the event's PostEngagement row (select_for_update): of two readers
  racing for the last place, the second waits for the first's commit, counts again and is put on
  the waitlist (or told the event is full when there is none).
- A "yes" that becomes "no" (or is erased) frees its place for the first on the waitlist, in the
  same transaction; the promoted reader is told by email after commit.
- Answers are taken until the RSVP deadline, or the event's start when there is none.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from newsletter.engagement import enqueue
from newsletter.models import Post, PostEngagement, Rsvp, Subscriber
from newsletter.subscribers import tokens
from newsletter.subscribers.addresses import clean_name, normalise_email

Answer = Rsvp.Answer


class Refusal(StrEnum):
    CLOSED = "Answers for this event are closed."
    FULL = "This event is full, and it has no waitlist."
    NOT_AN_EVENT = "This event does not take answers by email."


class RsvpRefused(Exception):
    def __init__(self, refusal: Refusal):
        super().__init__(refusal.value)
        self.refusal = refusal


@dataclass(frozen=True)
class Reader:
    """Who answers: a subscriber, or a visitor's RSVP row."""

    subscriber_id: int | None = None
    rsvp_id: int | None = None

    @property
    def token_value(self) -> str:
        return str(self.subscriber_id) if self.subscriber_id else f"g{self.rsvp_id}"

    @classmethod
    def from_token_value(cls, value: str) -> "Reader":
        if value.startswith("g"):
            return cls(rsvp_id=int(value[1:]))
        return cls(subscriber_id=int(value))


def rsvp_url(reader: Reader, post_id: int, answer: str = "") -> str:
    url = tokens.post_link("rsvp", reader.token_value, post_id)
    return f"{url}?answer={answer}" if answer else url


def counts(post: Post) -> dict[str, int | None]:
    """yes, no, waitlist, unconfirmed and the places left (None: no limit)."""
    found = Rsvp.objects.filter(post=post).aggregate(
        **{answer.value: Count("id", filter=Q(answer=answer)) for answer in Answer}
    )
    engagement = post.engagement_or_none()
    capacity = engagement.capacity if engagement else None
    found["capacity"] = capacity
    found["places_left"] = None if capacity is None else max(0, capacity - found[Answer.YES])
    return found


def find_rsvp(reader: Reader, post_id: int) -> Rsvp | None:
    rows = Rsvp.objects.filter(post_id=post_id).select_related("post", "subscriber")
    if reader.subscriber_id:
        return rows.filter(subscriber_id=reader.subscriber_id).first()
    return rows.filter(pk=reader.rsvp_id, subscriber=None).first()


def rsvp_answer(*, reader: Reader, post_id: int, answer: str) -> Rsvp:
    """Record `answer` ("yes" or "no") for the reader; idempotent. A "yes" to a full event joins
    the waitlist. Raises RsvpRefused (nothing stored) when answers are closed or the event is full
    without a waitlist; LookupError when the reader is unknown (erased)."""
    assert answer in (Answer.YES, Answer.NO)
    now = timezone.now()
    with transaction.atomic():
        engagement = (
            PostEngagement.objects.select_for_update().select_related("post").get(post_id=post_id)
        )
        post = engagement.post
        if not post.takes_answers(now):
            raise RsvpRefused(Refusal.CLOSED if engagement.takes_rsvps else Refusal.NOT_AN_EVENT)
        rsvp = _reader_row(reader, post, now)
        before = rsvp.answer
        if answer == Answer.NO:
            new = Answer.NO
        elif before in (Answer.YES, Answer.WAITLIST):
            new = before  # already in, or already waiting: a second "yes" changes nothing
        elif _has_place(engagement):
            new = Answer.YES
        elif engagement.waitlist:
            new = Answer.WAITLIST
        else:
            raise RsvpRefused(Refusal.FULL)
        if new == before:
            return rsvp
        rsvp.answer = new
        rsvp.answered_at = now
        rsvp.waitlisted_at = now if new == Answer.WAITLIST else None
        rsvp.save()
        if before == Answer.YES:
            promote_from_waitlist(engagement)
        if before == Answer.UNCONFIRMED and rsvp.wants_to_join:
            _join_list(rsvp)
        enqueue.rsvp_email(rsvp.pk, "answer")
    return rsvp


def _reader_row(reader: Reader, post: Post, now: datetime) -> Rsvp:
    if reader.subscriber_id:
        if not Subscriber.objects.filter(pk=reader.subscriber_id).exists():
            raise LookupError("no such subscriber")
        # The event row is locked, so no other transaction creates this reader's row meanwhile.
        rsvp, _ = Rsvp.objects.get_or_create(
            post=post,
            subscriber_id=reader.subscriber_id,
            defaults={"answer": Answer.UNCONFIRMED},
        )
        return rsvp
    rsvp = Rsvp.objects.filter(pk=reader.rsvp_id, post=post, subscriber=None).first()
    if rsvp is None:
        raise LookupError("no such RSVP")
    return rsvp


def _has_place(engagement: PostEngagement) -> bool:
    if engagement.capacity is None:
        return True
    taken = Rsvp.objects.filter(post_id=engagement.post_id, answer=Answer.YES).count()
    return taken < engagement.capacity


def promote_from_waitlist(engagement: PostEngagement) -> list[int]:
    """Give free places to the first on the waitlist; the caller holds the event's lock."""
    promoted = []
    while _has_place(engagement):
        first = (
            Rsvp.objects.filter(post_id=engagement.post_id, answer=Answer.WAITLIST)
            .order_by("waitlisted_at", "id")
            .first()
        )
        if first is None:
            break
        Rsvp.objects.filter(pk=first.pk).update(
            answer=Answer.YES, waitlisted_at=None, answered_at=timezone.now()
        )
        enqueue.rsvp_email(first.pk, "promoted")
        promoted.append(first.pk)
    return promoted


def fill_open_places() -> int:
    """Promote waiting readers wherever places are free (staff raised the capacity); beat runs
    it. The number promoted."""
    waiting = Rsvp.objects.filter(answer=Answer.WAITLIST).values("post_id")
    promoted = 0
    events = PostEngagement.objects.filter(post_id__in=waiting, post__starts_at__gt=timezone.now())
    for post_id in events.values_list("post_id", flat=True):
        with transaction.atomic():
            engagement = PostEngagement.objects.select_for_update().get(post_id=post_id)
            promoted += len(promote_from_waitlist(engagement))
    return promoted


def _join_list(rsvp: Rsvp) -> None:
    """A visitor who ticked "join": the usual double opt-in signup, for the event's topic."""
    from newsletter.subscribers.signups import signup_request

    signup_request(
        email=rsvp.email,
        first_name=rsvp.name,
        topic_slugs=[rsvp.post.topic.slug],
        source=f"rsvp:{rsvp.post.slug}",
    )


# --- Visitors ------------------------------------------------------------------------------


def guest_request(*, post: Post, email: str, name: str, wants_to_join: bool) -> Rsvp | None:
    """A visitor asks to answer from the event page: their own link goes to `email`, and nothing
    counts until they use it. None when the event takes no answers."""
    if not post.takes_answers():
        return None
    email = normalise_email(email)
    with transaction.atomic():
        rsvp, created = Rsvp.objects.select_for_update().get_or_create(
            post=post,
            subscriber=None,
            email=email,
            defaults={
                "answer": Answer.UNCONFIRMED,
                "name": clean_name(name),
                "wants_to_join": wants_to_join,
            },
        )
        if not created and rsvp.answer == Answer.UNCONFIRMED:
            rsvp.name = clean_name(name) or rsvp.name
            rsvp.wants_to_join = wants_to_join
            rsvp.save(update_fields=["name", "wants_to_join", "updated_at"])
        enqueue.rsvp_email(rsvp.pk, "link")
    return rsvp


# --- Emails (sent by a worker after commit) --------------------------------------------------


def send_email(*, rsvp_id: int, kind: str) -> bool:
    """The email of `kind` for one RSVP: "answer" (confirmation, with the .ics for a yes),
    "promoted" (a place opened) or "link" (a visitor's link). True when one was sent."""
    from newsletter.engagement import rsvp_emails

    rsvp = Rsvp.objects.select_related("post", "subscriber").filter(pk=rsvp_id).first()
    if rsvp is None:
        return False
    return rsvp_emails.send(rsvp, kind)


# --- The subscriber's own data ---------------------------------------------------------------


def _iso(value) -> str:
    return value.isoformat() if value else ""


def personal_data(subscriber: Subscriber) -> dict:
    """RSVPs and "count me in"s, for the subscriber's data export."""
    return {
        "rsvps": [
            {
                "event": rsvp.post.title,
                "answer": rsvp.answer,
                "answered_at": _iso(rsvp.answered_at) or None,
                "checked_in_at": _iso(rsvp.checked_in_at) or None,
            }
            for rsvp in subscriber.rsvps.select_related("post").order_by("id")
        ],
        "count_me_in": [
            {"post": interest.post.title, "at": interest.created_at.isoformat()}
            for interest in subscriber.interests.select_related("post").order_by("id")
        ],
    }


def forget_visitor(*, rsvp_id: int, post_id: int) -> bool:
    """A visitor's answer and address deleted at their request, their place given away."""
    with transaction.atomic():
        engagement = PostEngagement.objects.select_for_update().get(post_id=post_id)
        deleted, _ = Rsvp.objects.filter(pk=rsvp_id, post_id=post_id, subscriber=None).delete()
        promote_from_waitlist(engagement)
    return bool(deleted)


def forget_subscriber(*, subscriber_id: int, email: str) -> None:
    """Delete the subscriber's RSVPs and interest (erasure), and any visitor's RSVP made with
    their address, giving their places to the waitlist."""
    from newsletter.models import Interest

    theirs = Rsvp.objects.filter(Q(subscriber_id=subscriber_id) | Q(subscriber=None, email=email))
    with transaction.atomic():
        post_ids = list(theirs.filter(answer=Answer.YES).values_list("post_id", flat=True))
        engagements = PostEngagement.objects.select_for_update().filter(post_id__in=post_ids)
        locked = list(engagements.order_by("pk"))
        theirs.delete()
        Interest.objects.filter(subscriber_id=subscriber_id).delete()
        for engagement in locked:
            promote_from_waitlist(engagement)
