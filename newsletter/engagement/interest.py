""" "Count me in" for ways to get involved: a reader's interest, recorded once, and the post's staff
contact told by email."""

import csv

from django.db import IntegrityError, transaction

from newsletter.engagement import enqueue
from newsletter.mail.emails import make_message
from newsletter.models import Interest, Post, Subscriber
from newsletter.subscribers import tokens
from newsletter.subscribers.csvfiles import spreadsheet_safe


def interest_url(subscriber_id: int, post_id: int) -> str:
    return tokens.post_link("interest", subscriber_id, post_id)


def count_me_in(*, subscriber_id: int, post: Post) -> bool:
    """Record the reader's interest; True the first time (the staff contact is told once)."""
    if not Subscriber.objects.filter(pk=subscriber_id).exists():
        raise LookupError("no such subscriber")
    try:
        with transaction.atomic():
            interest, created = Interest.objects.get_or_create(
                post=post, subscriber_id=subscriber_id
            )
    except IntegrityError:  # the same reader pressing twice at once: the other press won
        return False
    if created:
        enqueue.interest_notice(interest.pk)
    return created


def notify_contact(*, interest_id: int) -> bool:
    interest = (
        Interest.objects.select_related("post__engagement", "subscriber")
        .filter(pk=interest_id)
        .first()
    )
    if interest is None or not interest.post.engagement.contact_email:
        return False
    message = make_message(
        "interest-staff",
        interest.post.engagement.contact_email,
        {"post": interest.post, "reader": interest.subscriber},
        headers={"Reply-To": interest.subscriber.email},
    )
    message.send()
    return True


def interested(post: Post, search: str = ""):
    rows = Interest.objects.filter(post=post).select_related("subscriber").order_by("created_at")
    if search:
        rows = rows.filter(subscriber__email__icontains=search) | rows.filter(
            subscriber__first_name__icontains=search
        )
    return rows


INTEREST_FIELDS = ["email", "first_name", "status", "at"]


def write_interested_csv(post: Post, out) -> int:
    writer = csv.writer(out)
    writer.writerow(INTEREST_FIELDS)
    count = 0
    for interest in interested(post).iterator(2000):
        reader = interest.subscriber
        row = [reader.email, reader.first_name, reader.status, interest.created_at.isoformat()]
        writer.writerow([spreadsheet_safe(value) for value in row])
        count += 1
    return count
