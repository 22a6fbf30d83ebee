"""The emails an RSVP sends: its confirmation (with the event's .ics for a "yes"), a waitlisted
reader's promotion, a visitor's link and a visitor's day-before reminder. Through
emails.make_message, like every transactional email; never to a suppressed address (bounced,
complained, erased)."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from newsletter.content import calendar
from newsletter.content.posts import post_link
from newsletter.mail.emails import make_message
from newsletter.mail.messages import display_address
from newsletter.models import Rsvp
from newsletter.subscribers import policy

# A visitor asking twice for their link within this many seconds gets one email (list bombing).
LINK_RESEND_SECONDS = 600


def send(rsvp: Rsvp, kind: str) -> bool:
    from newsletter.engagement.rsvp import Reader, rsvp_url

    if _suppressed(rsvp):
        return False
    if kind == "link" and not _claim_link(rsvp):
        return False
    if kind == "reminder" and rsvp.answer != Rsvp.Answer.YES:
        return False  # changed their mind since the reminder was queued
    post = rsvp.post
    reader = Reader(subscriber_id=rsvp.subscriber_id, rsvp_id=rsvp.pk)
    context = {
        "rsvp": rsvp,
        "post": post,
        "first_name": rsvp.display_name,
        "kind": kind,
        "answer": rsvp.answer,
        "rsvp_url": rsvp_url(reader, post.pk),
        "yes_url": rsvp_url(reader, post.pk, "yes"),
        "no_url": rsvp_url(reader, post.pk, "no"),
        "event_url": post_link(post),
    }
    name = "rsvp-link" if kind == "link" else "rsvp-answer"
    message = make_message(name, display_address(rsvp.display_name, rsvp.address), context)
    if kind != "link" and rsvp.answer == Rsvp.Answer.YES:
        message.attach(f"{post.slug}.ics", calendar.event_ics(post), "text/calendar")
    message.send()
    return True


def _suppressed(rsvp: Rsvp) -> bool:
    return not policy.may_send_requested(rsvp.subscriber, rsvp.address)


def _claim_link(rsvp: Rsvp) -> bool:
    # The conditional UPDATE is the guard: of two requests racing, one sends.
    now = timezone.now()
    cutoff = now - timedelta(seconds=LINK_RESEND_SECONDS)
    return bool(
        Rsvp.objects.filter(pk=rsvp.pk)
        .filter(Q(confirmation_sent_at=None) | Q(confirmation_sent_at__lte=cutoff))
        .update(confirmation_sent_at=now)
    )
