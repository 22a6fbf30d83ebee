"""Events' answers and attendance, and get-involved interest (names and addresses: the
subscriber manager's scope)."""

from datetime import datetime

from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from newsletter.api import audit, keys
from newsletter.api.subscribers import Strict
from newsletter.api.v1 import ERRORS, ApiError, Id, KeyAuth
from newsletter.engagement import attendance, rsvp
from newsletter.engagement import interest as interest_rules
from newsletter.models import Post, Rsvp

events = Router(auth=KeyAuth(keys.ANSWERS))
interest = Router(auth=KeyAuth(keys.ANSWERS))


class RsvpOut(Schema):
    id: int
    subscriber_id: int | None
    email: str
    name: str
    answer: str
    answered_at: datetime | None
    waitlisted_at: datetime | None
    checked_in_at: datetime | None


class EventAnswers(Schema):
    post_id: int
    counts: dict[str, int | None]
    rsvps: list[RsvpOut]


class CheckIn(Strict):
    present: bool


class InterestOut(Schema):
    subscriber_id: int
    email: str
    first_name: str
    at: datetime


def _rsvp(row: Rsvp) -> dict:
    reader = row.subscriber
    return {
        "id": row.pk,
        "subscriber_id": row.subscriber_id,
        "email": reader.email if reader else row.email,
        "name": (reader.first_name if reader else row.name) or "",
        "answer": row.answer,
        "answered_at": row.answered_at,
        "waitlisted_at": row.waitlisted_at,
        "checked_in_at": row.checked_in_at,
    }


@events.get("/{post_id}/rsvps/", response={200: EventAnswers, **ERRORS})
def event_rsvps(request, post_id: Id):
    """Everyone who answered, in the order the door list shows them."""
    post = get_object_or_404(Post, pk=post_id, kind=Post.Kind.EVENT)
    return {
        "post_id": post.pk,
        "counts": rsvp.counts(post),
        "rsvps": [_rsvp(row) for row in attendance.attendees(post)],
    }


@events.post("/{post_id}/rsvps/{rsvp_id}/check-in/", response={200: RsvpOut, **ERRORS})
def event_check_in(request, post_id: Id, rsvp_id: Id, payload: CheckIn):
    """Tick (or untick) a "yes" at the door."""
    row = get_object_or_404(Rsvp.objects.select_related("subscriber"), pk=rsvp_id, post_id=post_id)
    if row.answer != Rsvp.Answer.YES:
        raise ApiError(409, "not_attending", "Only a 'yes' can be checked in.")
    if attendance.check_in(rsvp_id=row.pk, present=payload.present):
        audit.record(request, "api: check-in", f"rsvp #{row.pk}", present=payload.present)
    row.refresh_from_db()
    return _rsvp(row)


@interest.get("/{post_id}/", response={200: list[InterestOut], **ERRORS})
def post_interest(request, post_id: Id):
    """Everyone who said "count me in" to a get-involved post."""
    post = get_object_or_404(Post, pk=post_id, kind=Post.Kind.GET_INVOLVED)
    return [
        {
            "subscriber_id": row.subscriber_id,
            "email": row.subscriber.email,
            "first_name": row.subscriber.first_name,
            "at": row.created_at,
        }
        for row in interest_rules.interested(post)
    ]
