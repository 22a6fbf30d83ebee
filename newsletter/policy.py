"""Rules about readers that more than one path applies, each in one function.

- `may_track`: whether opens or clicks of a reader may be recorded (our own tracking, when their
  message is rendered and when they act, and an ESP's tracking events).
- `suppress`: stop mailing an address for good (a bounce at send time, an ESP's bounce or
  complaint webhook).
"""

from datetime import datetime

from django.utils import timezone

from .models import Subscriber

OPENS = "opens"
CLICKS = "clicks"

# Who a suppression moves: someone who already left (unsubscribed) or is already suppressed keeps
# the reason they have; a later bounce does not rewrite their history.
SUPPRESSIBLE = (Subscriber.Status.PENDING, Subscriber.Status.ACTIVE)


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


def suppress(subscriber_id: int | None, status: str, at: datetime | None = None) -> bool:
    """Mark the subscriber `status` (bounced or complained) so no campaign mails them again.
    False when there is nobody to suppress (erased) or they are not pending or active."""
    if subscriber_id is None:
        return False
    now = timezone.now()
    return bool(
        Subscriber.objects.filter(pk=subscriber_id, status__in=SUPPRESSIBLE).update(
            status=status, suppressed_at=at or now, updated_at=now
        )
    )
