"""Campaign status changes: the one place that enforces Campaign.TRANSITIONS."""

from django.db import transaction
from django.utils import timezone

from .models import Campaign

Status = Campaign.Status


class IllegalTransition(Exception):
    pass


def transition(campaign: Campaign, to: str, **fields) -> None:
    """Move `campaign` to `to`, or raise IllegalTransition.

    A conditional UPDATE on the status the caller saw, so two processes racing for the same move
    (two beat ticks, two staff clicks) cannot both win: the loser gets IllegalTransition.
    """
    if to not in Campaign.TRANSITIONS[campaign.status]:
        current, wanted = campaign.get_status_display().lower(), Status(to).label.lower()
        raise IllegalTransition(f"A {current} campaign cannot become {wanted}.")
    now = timezone.now()
    if to == Status.SENDING and campaign.started_at is None:
        fields.setdefault("started_at", now)
    if to in (Status.SENT, Status.CANCELLED):
        fields.setdefault("finished_at", now)
    with transaction.atomic():
        won = Campaign.objects.filter(pk=campaign.pk, status=campaign.status).update(
            status=to, updated_at=now, **fields
        )
    if not won:
        campaign.refresh_from_db(fields=["status"])
        raise IllegalTransition(f"The campaign changed meanwhile: it is now {campaign.status}.")
    campaign.status = to
    for name, value in fields.items():
        setattr(campaign, name, value)
