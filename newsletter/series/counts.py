"""Where each reader of a series stands, per step: what admin shows.

For every step, each enrolled reader is in one of: sent (the step reached their inbox), failed
(bounced or refused), waiting (the step is still ahead of them, or queued), stopped (they left
before it reached them). The columns of a step add up to the series' enrolments. Opened and clicked
count the sent ones that were opened or clicked (tracked readers only: a lower bound).
"""

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Q

from newsletter.models import Delivery, Enrolment, Series

Status = Delivery.Status


@dataclass
class StepCounts:
    step: object
    waiting: int = 0
    sent: int = 0
    failed: int = 0
    stopped: int = 0
    opened: int = 0
    clicked: int = 0


def step_counts(series: Series) -> list[StepCounts]:
    steps = list(series.steps.all())
    deliveries = Delivery.objects.filter(campaign__series_step__series=series)
    rows = Counter(
        {
            (row["campaign_id"], row["status"]): row["n"]
            for row in deliveries.values("campaign_id", "status").annotate(n=Count("pk"))
        }
    )
    engaged = {
        row["campaign_id"]: row
        for row in deliveries.values("campaign_id").annotate(
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        )
    }
    ahead = Counter(
        {
            (row["status"], row["next_step_id"]): row["n"]
            for row in Enrolment.objects.filter(series=series)
            .exclude(status=Enrolment.Status.FINISHED)
            .values("status", "next_step_id")
            .annotate(n=Count("pk"))
        }
    )
    counts, before = [], Counter()
    for step in steps:
        # Readers whose next step is this one or an earlier one have not had it yet.
        for status in (Enrolment.Status.ACTIVE, Enrolment.Status.STOPPED):
            before[status] += ahead[status, step.pk]
        rows_of = _rows_of(rows, step.campaign_id)
        counts.append(
            StepCounts(
                step=step,
                waiting=before[Enrolment.Status.ACTIVE] + rows_of(Status.QUEUED, Status.SENDING),
                sent=rows_of(Status.SENT),
                failed=rows_of(Status.FAILED, Status.BOUNCED),
                stopped=before[Enrolment.Status.STOPPED] + rows_of(Status.SKIPPED),
                opened=engaged.get(step.campaign_id, {}).get("opened", 0),
                clicked=engaged.get(step.campaign_id, {}).get("clicked", 0),
            )
        )
    return counts


def _rows_of(rows: Counter, campaign_id: int | None):
    return lambda *statuses: sum(rows[campaign_id, status] for status in statuses)


def enrolment_counts(series: Series) -> dict[str, int]:
    """{active, finished, stopped: how many}."""
    found = dict(
        Enrolment.objects.filter(series=series)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {status: found.get(status, 0) for status in Enrolment.Status.values}
