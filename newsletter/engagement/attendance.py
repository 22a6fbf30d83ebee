"""An event's answers for staff: the attendee list with search, check-in at the door, and the
list as CSV (formula-safe, like every export)."""

import csv

from django.db.models import Q
from django.utils import timezone

from newsletter.models import Post, Rsvp
from newsletter.subscribers.csvfiles import spreadsheet_safe

Answer = Rsvp.Answer
ANSWERED = [Answer.YES, Answer.NO, Answer.WAITLIST]


def attendees(post: Post, search: str = ""):
    rows = (
        Rsvp.objects.filter(post=post, answer__in=ANSWERED)
        .select_related("subscriber")
        .order_by("answer", "waitlisted_at", "id")
    )
    if search:
        rows = rows.filter(
            Q(email__icontains=search)
            | Q(name__icontains=search)
            | Q(subscriber__email__icontains=search)
            | Q(subscriber__first_name__icontains=search)
        )
    return rows


def check_in(*, rsvp_id: int, present: bool) -> bool:
    """Tick (or untick) a "yes" at the door; True when the row changed."""
    rows = Rsvp.objects.filter(pk=rsvp_id, answer=Answer.YES)
    if present:
        return bool(rows.filter(checked_in_at=None).update(checked_in_at=timezone.now()))
    return bool(rows.exclude(checked_in_at=None).update(checked_in_at=None))


ATTENDEE_FIELDS = ["email", "name", "answer", "answered_at", "waitlisted_at", "checked_in_at"]


def write_attendees_csv(post: Post, out, search: str = "") -> int:
    writer = csv.writer(out)
    writer.writerow(ATTENDEE_FIELDS)
    count = 0
    for rsvp in attendees(post, search).iterator(2000):
        row = [
            rsvp.address,
            rsvp.display_name,
            rsvp.answer,
            _iso(rsvp.answered_at),
            _iso(rsvp.waitlisted_at),
            _iso(rsvp.checked_in_at),
        ]
        writer.writerow([spreadsheet_safe(value) for value in row])
        count += 1
    return count


def _iso(value) -> str:
    return value.isoformat() if value else ""
