"""Campaign status changes: the one place that enforces Campaign.TRANSITIONS (`transition`).
Scheduling is newsletter.campaigns.scheduling; resuming a paused send is
newsletter.delivery.lifecycle.campaign_resume (it queues the rows left waiting)."""

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from newsletter.campaigns import abtest
from newsletter.campaigns.snapshot import build_snapshot, frozen
from newsletter.models import Campaign, CampaignPost, CampaignVariant, Post, Snapshot

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
    # A reason belongs to the move that gave it; the next move clears it.
    fields.setdefault("status_reason", "")
    if to == Status.SENDING and campaign.started_at is None:
        fields.setdefault("started_at", now)
    if to in (Status.SENT, Status.CANCELLED):
        fields.setdefault("finished_at", now)
    with transaction.atomic():
        won = Campaign.objects.filter(pk=campaign.pk, status=campaign.status).update(
            status=to, updated_at=now, **fields
        )
        if won and to == Status.SCHEDULED:
            _freeze(campaign)
        elif won and to == Status.DRAFT:
            # Back to draft: a sender approves again, and that takes a new snapshot.
            Snapshot.objects.filter(campaign=campaign).delete()
            campaign._state.fields_cache.pop("snapshot", None)
    if not won:
        campaign.refresh_from_db(fields=["status"])
        raise IllegalTransition(f"The campaign changed meanwhile: it is now {campaign.status}.")
    campaign.status = to
    for name, value in fields.items():
        setattr(campaign, name, value)


def _freeze(campaign: Campaign) -> None:
    """Store what the sender approved (replacing any older snapshot)."""
    Snapshot.objects.filter(campaign=campaign).delete()
    snapshot = build_snapshot(campaign)
    snapshot.save()
    campaign.snapshot = snapshot


# Staff edit only drafts. A scheduled campaign is frozen as approved: a sender moves it back to
# draft to change it, and schedules it again. A sent or cancelled campaign never changes again.
EDITABLE = {Status.DRAFT}


def schedule_problems(campaign: Campaign) -> list[str]:
    """What keeps a draft from being scheduled as it stands."""
    post_ids = list(campaign.items.values_list("post_id", flat=True))
    topic_ids = list(campaign.topics.values_list("pk", flat=True))
    return _problems(campaign.subject, post_ids, topic_ids) + abtest.campaign_problems(campaign)


def _problems(subject: str, post_ids: list[int], topic_ids: list[int]) -> list[str]:
    """What keeps a campaign from being sent: checked when scheduling and again at the start."""
    problems = []
    if not subject.strip():
        problems.append("it has no subject")
    if not post_ids:
        problems.append("it has no posts")
    elif Post.objects.filter(pk__in=post_ids, status=Post.Status.PUBLISHED).count() < len(
        set(post_ids)
    ):
        problems.append("some of its posts are not published yet")
    if not topic_ids:
        problems.append("it has no audience topics")
    return problems


def start_problems(campaign: Campaign) -> list[str]:
    """Scheduling's checks, repeated on what was approved when the campaign is due, and whether
    the campaign still is what was approved (nothing may change a scheduled campaign, but a
    race or a shell can)."""
    snapshot = frozen(campaign)
    problems = _problems(snapshot.subject, snapshot.post_ids, snapshot.topic_ids)
    live = Campaign.objects.filter(pk=campaign.pk).values("subject", "preheader", "intro").first()
    approved = {
        "subject": snapshot.subject,
        "preheader": snapshot.preheader,
        "intro": snapshot.intro,
    }
    if live != approved:
        problems.append("its text changed after it was approved")
    if abtest.frozen_variants(campaign) != snapshot.variants:
        problems.append("its A/B test subjects changed after it was approved")
    if list(campaign.items.values_list("post_id", flat=True)) != snapshot.post_ids:
        problems.append("its posts changed after it was approved")
    if set(campaign.topics.values_list("pk", flat=True)) != set(snapshot.topic_ids):
        problems.append("its audience changed after it was approved")
    return problems


def campaign_check_start(*, campaign: Campaign) -> bool:
    """At the start of sending: True when the scheduled campaign may go; otherwise it goes back to
    draft with the reason shown in admin (a sender must look at it and schedule it again)."""
    problems = start_problems(campaign)
    if not problems:
        return True
    reason = f"Not sent: {', '.join(problems)}. Check it and schedule it again."
    transition(campaign, Status.DRAFT, status_reason=reason[:500])
    return False


def campaign_unschedule(*, campaign: Campaign) -> Campaign:
    """Back to draft, to edit or reschedule it."""
    transition(campaign, Status.DRAFT)
    return campaign


def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Stop a sending campaign; the delivery engine sends nothing more until it is resumed."""
    transition(campaign, Status.PAUSED)
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
            greeting=campaign.greeting,
            track_opens=campaign.track_opens,
            track_clicks=campaign.track_clicks,
            test_share=campaign.test_share,
            test_wait=campaign.test_wait,
            winner_by=campaign.winner_by,
            created_by=by,
        )
        CampaignVariant.objects.bulk_create(
            CampaignVariant(
                campaign=copy, letter=v.letter, subject=v.subject, preheader=v.preheader
            )
            for v in campaign.variants.all()
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
