"""Campaign status changes: the one place that enforces Campaign.TRANSITIONS."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from .models import Campaign, CampaignPost, Post

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


# Staff may act on these; the rest are frozen (a sent or cancelled campaign never changes again).
EDITABLE = {Status.DRAFT, Status.SCHEDULED}


def audience_count(campaign: Campaign) -> int:
    """How many subscribers the campaign would go to now, by the query delivery itself uses."""
    from .delivery import audience  # delivery imports this module

    return audience(campaign).count()


def campaign_schedule(*, campaign: Campaign, at: datetime | None = None) -> Campaign:
    """Schedule a draft for `at` (now when None). The delivery beat sends it once it is due."""
    problems = []
    if not campaign.subject.strip():
        problems.append("it has no subject")
    if not campaign.items.exists():
        problems.append("it has no posts")
    elif campaign.items.exclude(post__status=Post.Status.PUBLISHED).exists():
        problems.append("some of its posts are not published yet")
    if not campaign.topics.exists():
        problems.append("it has no audience topics")
    if problems:
        raise IllegalTransition(f"The campaign cannot be scheduled: {', '.join(problems)}.")
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError("scheduled time must be time-zone aware")
    transition(campaign, Status.SCHEDULED, scheduled_at=at)
    return campaign


def campaign_unschedule(*, campaign: Campaign) -> Campaign:
    """Back to draft, to edit or reschedule it."""
    transition(campaign, Status.DRAFT)
    return campaign


def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Stop a sending campaign; the delivery engine sends nothing more until it is resumed."""
    transition(campaign, Status.PAUSED)
    return campaign


def campaign_resume(*, campaign: Campaign) -> Campaign:
    """Paused → sending, with the rows left waiting queued at once (not after a lease period)."""
    from .delivery import resume  # delivery imports this module

    resume(campaign)
    return campaign


def campaign_cancel(*, campaign: Campaign) -> Campaign:
    transition(campaign, Status.CANCELLED)
    return campaign


def campaign_duplicate(*, campaign: Campaign, by=None) -> Campaign:
    """A new draft with the same content and audience, to send again or adapt."""
    with transaction.atomic():
        copy = Campaign.objects.create(
            subject=campaign.subject,
            slug=unique_slug(campaign.subject),
            preheader=campaign.preheader,
            intro=campaign.intro,
            track_opens=campaign.track_opens,
            track_clicks=campaign.track_clicks,
            created_by=by,
        )
        copy.topics.set(campaign.topics.all())
        CampaignPost.objects.bulk_create(
            CampaignPost(campaign=copy, post_id=item.post_id, position=item.position)
            for item in campaign.items.all()
        )
    return copy


def unique_slug(text: str) -> str:
    """A campaign slug from `text` that no campaign has yet (the archive's address)."""
    base = slugify(text)[:200].strip("-") or "campaign"
    taken = set(Campaign.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug
