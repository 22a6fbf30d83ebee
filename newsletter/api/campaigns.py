"""Campaigns, read only: what they were, their counts and report figures. Scheduling and
sending stay with staff."""

from datetime import datetime

from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema

from newsletter.api import keys
from newsletter.api.v1 import ERRORS, Id, KeyAuth
from newsletter.campaigns import reports
from newsletter.models import Campaign

router = Router(auth=KeyAuth(keys.CAMPAIGNS))


class CampaignOut(Schema):
    id: int
    subject: str
    slug: str
    status: str
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    topics: list[str]
    posts: list[int]
    recipients_count: int
    sent_count: int
    failed_count: int
    bounced_count: int


class CampaignReportOut(Schema):
    campaign: CampaignOut
    figures: dict[str, int]
    warnings: list[str]


def _out(campaign: Campaign) -> dict:
    return {
        **{
            name: getattr(campaign, name)
            for name in CampaignOut.model_fields
            if name not in ("topics", "posts")
        },
        "topics": sorted(topic.slug for topic in campaign.topics.all()),
        "posts": [item.post_id for item in campaign.items.order_by("position", "id")],
    }


@router.get("/", response={200: list[CampaignOut], **ERRORS})
def list_campaigns(request, before_id: int | None = Query(None, ge=1, le=2**63 - 1)):
    """The newest 100 campaigns; `before_id` (the last id seen) for older ones."""
    rows = Campaign.objects.prefetch_related("topics").order_by("-id")
    if before_id:
        rows = rows.filter(id__lt=before_id)
    return [_out(campaign) for campaign in rows[:100]]


@router.get("/{campaign_id}/", response={200: CampaignOut, **ERRORS})
def read_campaign(request, campaign_id: Id):
    return _out(get_object_or_404(Campaign, pk=campaign_id))


@router.get("/{campaign_id}/report/", response={200: CampaignReportOut, **ERRORS})
def campaign_report(request, campaign_id: Id):
    """The admin report's figures (counts only: no addresses)."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    figures = reports.campaign_summary(campaign_id=campaign.pk)
    return {
        "campaign": _out(campaign),
        "figures": figures,
        "warnings": reports.campaign_warnings(figures),
    }
