"""An A/B subject test's phases in the ledger (the rules and figures are
newsletter.campaigns.abtest).

1. prepare writes rows for the test share only, each with its variant (write_test_rows), and the
   campaign counts as prepared: its batches go, but finish_campaigns leaves it sending while
   the winner is owed (abtest.WINNER_OWED).
2. After the wait, a sender chooses the winner, or beat picks it by click rate
   (pick_due_winners). choose_winner is a conditional UPDATE (only one choice wins) that also
   marks the ledger incomplete again, and queues prepare.
3. prepare writes the rest with the winner. A reader of the test already has a row, and the
   unique (campaign, subscriber) row means nobody gets two messages.
"""

import itertools
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from newsletter.campaigns import abtest
from newsletter.campaigns.audience import audience
from newsletter.campaigns.snapshot import frozen
from newsletter.delivery import enqueue, ledger
from newsletter.models import Campaign, Delivery

CampaignStatus = Campaign.Status


class NotChoosable(Exception):
    pass


def write_test_rows(campaign: Campaign, lease_until: datetime) -> int:
    """Rows for a random `test_share` of the audience, the variants dealt in turn (an even
    split). Written in one transaction, once: a re-run of prepare (a redelivered task, the
    sweeper) finds test_sent_at set and writes nothing, so a changed audience cannot grow the
    test."""
    letters = [variant["letter"] for variant in frozen(campaign).variants]
    chunk = settings.PREPARE_CHUNK_SIZE
    written = 0
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().filter(pk=campaign.pk, test_sent_at=None)
        if not locked.exists():
            return 0
        readers = audience(campaign)
        size = abtest.test_size(readers.count(), campaign.test_share, len(letters))
        drawn = readers.order_by("?").values_list("pk", flat=True)[:size]
        dealt = 0
        for ids in itertools.batched(drawn.iterator(chunk_size=chunk), chunk):
            for n, letter in enumerate(letters):
                # The reader at position `dealt + i` of the draw gets letters[(dealt + i) % k].
                mine = list(ids[(n - dealt) % len(letters) :: len(letters)])
                written += ledger.write_rows(campaign.pk, mine, lease_until, variant=letter)
            dealt += len(ids)
        Campaign.objects.filter(pk=campaign.pk).update(test_sent_at=timezone.now())
    return written


def choose_winner(*, campaign: Campaign, letter: str) -> None:
    """Record the winner and queue the rest's preparation; NotChoosable with the reason when the
    campaign has no such variant, is not in its test, or has a winner already."""
    letters = [variant["letter"] for variant in frozen(campaign).variants]
    if letter not in letters:
        raise NotChoosable(f"The test has no variant {letter}.")
    now = timezone.now()
    with transaction.atomic():
        won = (
            Campaign.objects.filter(
                pk=campaign.pk,
                status__in=[CampaignStatus.SENDING, CampaignStatus.PAUSED],
                winner="",
                test_sent_at__isnull=False,
            )
            .exclude(test_share=None)
            .update(winner=letter, prepared_at=None, prepare_requeued_at=now, updated_at=now)
        )
        if not won:
            raise NotChoosable(
                "A winner can be chosen only once, after the test went out, while the campaign "
                "is sending or paused."
            )
        # prepare writes a paused campaign's rest too, and queues it once it is resumed.
        enqueue.preparation(campaign.pk)
    campaign.winner = letter


def pick_due_winners(now: datetime | None = None) -> int:
    """Beat's step: each sending test picked by click rate whose wait is over gets the variant with
    the best click rate among readers who allow tracking. Returns how many were picked."""
    now = now or timezone.now()
    due = Campaign.objects.filter(
        status=CampaignStatus.SENDING,
        winner="",
        winner_by=Campaign.WinnerBy.CLICKS,
        test_sent_at__isnull=False,
    ).exclude(test_share=None)
    picked = 0
    for campaign in due:
        if campaign.test_sent_at + campaign.test_wait > now:
            continue
        best = abtest.ranked(abtest.figures(campaign, frozen(campaign)))[0]
        try:
            choose_winner(campaign=campaign, letter=best.letter)
        except NotChoosable:
            continue
        picked += 1
    return picked


@dataclass(frozen=True)
class Phases:
    """How far each phase of a test has gone: its share, and the rest of the audience."""

    test_sent: int
    test_total: int
    rest_sent: int
    rest_total: int

    @property
    def total(self) -> int:
        return self.test_total + self.rest_total

    def sentence(self) -> str:
        """ "Test: 4 of 4 sent; rest: 0 of 3"."""
        return (
            f"Test: {self.test_sent} of {self.test_total} sent; "
            f"rest: {self.rest_sent} of {self.rest_total}"
        )


def phases(campaign: Campaign) -> Phases | None:
    """Each phase's figures once the test's rows are written (None before, or without a test).
    Until the rest's rows are written, the rest is the audience as it stands now, less the test."""
    if not abtest.is_test(campaign) or campaign.test_sent_at is None:
        return None
    rows = Delivery.objects.filter(campaign=campaign).exclude(status=Delivery.Status.SKIPPED)
    test = rows.filter(created_at__lte=campaign.test_sent_at)
    rest = rows.filter(created_at__gt=campaign.test_sent_at)
    sent = Delivery.Status.SENT
    test_total, test_sent = test.count(), test.filter(status=sent).count()
    rest_total, rest_sent = rest.count(), rest.filter(status=sent).count()
    if not (campaign.winner and campaign.prepared_at):
        rest_total = max(rest_total, audience(campaign).count() - test_total)
    return Phases(test_sent, test_total, rest_sent, rest_total)
