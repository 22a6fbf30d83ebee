"""Where a campaign's delivery stands: counts by status, the stored totals, the live figures."""

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from newsletter.campaigns.scheduling import is_local
from newsletter.delivery import waves
from newsletter.models import Campaign, Delivery

Status = Delivery.Status

RATE_WINDOW_SECONDS = 60


def campaign_counts(campaign: Campaign) -> dict[str, int]:
    found = dict(
        Delivery.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {status: found.get(status, 0) for status in Status.values}


def count_fields(counts: dict[str, int]) -> dict[str, int]:
    """The campaign's stored totals, from its counts by status."""
    return {
        "recipients_count": sum(counts.values()) - counts[Status.SKIPPED],
        "sent_count": counts[Status.SENT],
        "failed_count": counts[Status.FAILED],
        "bounced_count": counts[Status.BOUNCED],
    }


def record_counts(campaign: Campaign) -> None:
    """Refresh a finished campaign's counts (after an operator retried a delivery)."""
    Campaign.objects.filter(pk=campaign.pk).update(**count_fields(campaign_counts(campaign)))


def progress(campaign: Campaign) -> dict:
    """Counts by status, messages a second lately, time left."""
    counts = campaign_counts(campaign)
    total = sum(counts.values())
    waiting = counts[Status.QUEUED] + counts[Status.SENDING]
    now = timezone.now()
    rate = 0.0
    if campaign.started_at and waiting:
        window = min(RATE_WINDOW_SECONDS, max(1.0, (now - campaign.started_at).total_seconds()))
        recent = Delivery.objects.filter(
            campaign=campaign,
            status=Status.SENT,
            sent_at__gte=now - timedelta(seconds=window),
        ).count()
        rate = recent / window
    wave_list = waves.wave_progress(campaign) if is_local(campaign) else []
    # Rows of waves still to come are not "left" at the current rate: they wait for their hour.
    due = waiting - sum(wave["queued"] for wave in wave_list if wave["at"] > now)
    done = total - waiting
    return {
        "status": campaign.status,
        "total": total,
        **counts,
        "done": done,
        "percent": round(100 * done / total, 1) if total else 0.0,
        "rate_per_second": round(rate, 1),
        "eta_seconds": round(due / rate) if rate and due else None,
        "prepared": campaign.prepared_at is not None,
        "waiting_for_mail_server": waiting_note(campaign),
        "pause_reason": campaign.pause_reason,
        "waves": wave_list,
    }


def waiting_note(campaign: Campaign) -> str:
    """ "Waiting for the mail server since HH:MM: <error>" while the relay is failing, else ""."""
    if campaign.relay_down_since is None:
        return ""
    at = timezone.localtime(campaign.relay_down_since).strftime("%H:%M")
    return f"Waiting for the mail server since {at}: {campaign.relay_error}"
