"""send_batch: a batch's rows, claimed, rendered and sent over one connection.

The loop is a sequence of named steps per row: skip a reader who left, pick their body, check in
(pause, cancel, time budget, lease), connect (unless the relay is down and another batch probes
it), pace to the global rate, send one, and classify the result. Every write to the rows goes
through the ledger; the outcome is only counted here, and its follow-up tasks queued by enqueue.
"""

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from newsletter.campaigns.audience import listed, topics_of
from newsletter.delivery import enqueue, ledger, lifecycle, progress, relay, reputation, retries
from newsletter.delivery.bodies import Bodies
from newsletter.delivery.senders import Refused, Rejected, Transient, sender_for
from newsletter.delivery.senders.esp import BOUNCED, REJECTED, RETRY, SENT, THROTTLED, Outgoing
from newsletter.mail import rendering, sendrate
from newsletter.mail.messages import new_message_id
from newsletter.models import Campaign, Delivery
from newsletter.subscribers import policy

log = logging.getLogger(__name__)

Status = Delivery.Status
CampaignStatus = Campaign.Status

# How often a batch looks at its campaign's status, so pause and cancel act mid-batch without a
# query per message.
STATUS_CHECK_SECONDS = 0.5
# A batch stops and hands its remaining rows to a fresh task after this long (a slow global rate),
# well inside the task's time limit and the rows' lease.
BATCH_TIME_BUDGET_SECONDS = 240


@dataclass
class BatchOutcome:
    sent: int = 0
    bounced: int = 0
    failed: int = 0
    skipped: int = 0
    released: int = 0
    # Rows whose recipient failed transiently: a new task after `retry_in` seconds.
    retry_ids: list[int] = field(default_factory=list)
    retry_in: float = 0.0
    # Rows not tried before the time budget ran out: a new task at once.
    continue_ids: list[int] = field(default_factory=list)
    # Rows waiting for the mail server to come back: a new task after `wait` seconds.
    waiting_ids: list[int] = field(default_factory=list)
    wait: float = 0.0
    # Why the campaign was paused by this batch (it cannot be rendered), if it was.
    halted: str = ""


def send_batch(delivery_ids: list[int]) -> BatchOutcome:
    """Send the rows among `delivery_ids` that are still queued, over one connection, and queue
    a new task for every row left to try later."""
    outcome = BatchOutcome()
    campaign_id = (
        Delivery.objects.filter(pk__in=delivery_ids).values_list("campaign_id", flat=True).first()
    )
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return outcome
    if campaign.status == CampaignStatus.CANCELLED:
        outcome.skipped = ledger.skip_cancelled(delivery_ids, Status.QUEUED)
        return outcome
    # A sent campaign still takes rows an operator retried after it finished.
    if campaign.status not in (CampaignStatus.SENDING, CampaignStatus.SENT):
        # Paused: the rows wait, and the sweeper hands them to a new task after resume.
        ledger.hold(delivery_ids)
        return outcome
    won = ledger.claim(delivery_ids)
    if not won:
        return outcome
    rows = ledger.claimed_rows(won)
    try:
        _Run(campaign, rows, outcome).send_all()
    finally:
        # Whatever stopped the loop early (pause, an exception), rows this batch claimed but did
        # not settle go back to the queue instead of waiting for the lease.
        outcome.released += ledger.release([row.pk for row in rows])
    _follow_up(outcome)
    if campaign.status == CampaignStatus.SENT:
        progress.record_counts(campaign)
    return outcome


def _follow_up(outcome: BatchOutcome) -> None:
    """A new task for each group of rows left for later (each row's lease already covers it)."""
    if outcome.retry_ids:
        ledger.book_retry(outcome.retry_ids, outcome.retry_in)
        enqueue.batches_later(outcome.retry_ids, outcome.retry_in)
    if outcome.continue_ids:
        enqueue.batches_later(outcome.continue_ids, 0)
    if outcome.waiting_ids:
        enqueue.batches_later(outcome.waiting_ids, outcome.wait)


class _Run:
    """One pass over a batch's claimed rows. Each step returns False when the batch must stop."""

    def __init__(self, campaign: Campaign, rows: list[Delivery], outcome: BatchOutcome):
        self.campaign = campaign
        self.rows = rows
        self.outcome = outcome
        self.topics = topics_of([row.subscriber_id for row in rows if row.subscriber_id])
        self.listed = listed(row.subscriber for row in rows)
        self.bodies = Bodies(campaign)
        self.sender = None
        self.relay_answered = False
        self.started = self.last_check = self.renewed = time.monotonic()
        self.budget = min(BATCH_TIME_BUDGET_SECONDS, 0.8 * settings.DELIVERY_LEASE_SECONDS)
        self.limiter = sendrate.limiter()
        self.allowance = 0
        self.waiting: list[tuple[Delivery, Outgoing]] = []  # for a sender that batches
        # What the reputation watch has not been told yet: sent, and refused at send time.
        self.untold = dict.fromkeys((reputation.SENT, reputation.BOUNCED, reputation.REJECTED), 0)

    def send_all(self) -> None:
        try:
            for index, row in enumerate(self.rows):
                if self.reader_left(row):
                    continue
                found = self.body_for(index, row)
                if found is None:
                    return
                body, tracked = found
                if body is None:
                    self.skip(row, "Nothing in this campaign for their topics.")
                    continue
                if not (self.check_in(index) and self.connect(index)):
                    return
                if getattr(self.sender, "batches", False):
                    if not self.wait_for_round(index, row, body, tracked):
                        return
                    continue
                self.pace(index)
                if not self.send_one(index, row, body, tracked):
                    return
            self.send_round()
        finally:
            if self.sender is not None:
                self.sender.close()
            self.tell_watch()

    def tell_watch(self) -> None:
        """Hand the reputation watch what went out and what was refused since last time, and let
        it judge (a few cache calls every STATUS_CHECK_SECONDS, not a query per message)."""
        untold = {counted: n for counted, n in self.untold.items() if n}
        if not untold:
            return
        for counted, n in untold.items():
            reputation.count(self.campaign.pk, counted, n)
            self.untold[counted] = 0
        if self.campaign.status == CampaignStatus.SENDING:
            reputation.watch(self.campaign.pk)

    def reader_left(self, row: Delivery) -> bool:
        subscriber = row.subscriber
        if not policy.may_mail(subscriber):
            # Erased, unsubscribed or suppressed after the ledger was written.
            self.skip(row, "The subscriber left before their turn.")
            return True
        if subscriber.pk in self.listed:
            self.skip(row, "The address is on the suppression list.")
            return True
        return False

    def skip(self, row: Delivery, reason: str) -> None:
        ledger.mark(row, Status.SKIPPED, error=reason)
        self.outcome.skipped += 1

    def rest(self, index: int) -> list[int]:
        return [row.pk for row in self.rows[index:]]

    def body_for(self, index: int, row: Delivery):
        """(body or None, tracked); None when the campaign cannot be rendered at all, which no
        retry can fix: the campaign is paused with the error, instead of looping for ever."""
        try:
            return self.bodies.for_reader(
                row.subscriber, self.topics.get(row.subscriber_id, frozenset()), row.variant
            )
        except DatabaseError:
            raise
        except Exception as error:
            log.exception("campaign %s cannot be rendered", self.campaign.pk)
            reason = f"The campaign could not be rendered: {type(error).__name__}: {error}"
            self.outcome.halted = reason
            if self.campaign.status == CampaignStatus.SENT:
                # An operator's retry after it was sent: there is nothing to pause, the row fails.
                ledger.mark(row, Status.FAILED, error=reason, attempted=True)
                self.outcome.failed += 1
            else:
                lifecycle.halt(self.campaign, reason)
            return None

    def check_in(self, index: int) -> bool:
        """Now and then: stop for a pause or cancel, hand on at the time budget, renew leases."""
        now = time.monotonic()
        if now - self.last_check < STATUS_CHECK_SECONDS:
            return True
        self.last_check = now
        self.tell_watch()
        status = Campaign.objects.filter(pk=self.campaign.pk).values_list("status", flat=True)
        status = status.first()
        if status in (CampaignStatus.CANCELLED, None):
            self.outcome.skipped += ledger.skip_cancelled(self.rest(index), Status.SENDING)
            return False
        if status == CampaignStatus.PAUSED:
            return False  # send_batch puts the rest back in the queue
        if now - self.started >= self.budget:
            self.send_round()  # what an ESP round holds goes before the rest is handed on
            ids = self.rest(index)
            ledger.requeue(ids, timezone.now())
            self.outcome.continue_ids.extend(ids)
            return False
        if now - self.renewed >= settings.DELIVERY_LEASE_SECONDS / 3:
            # Still at work (a slow server, a low global rate): keep the sweeper away.
            self.renewed = now
            ledger.renew(self.rest(index))
        return True

    def connect(self, index: int) -> bool:
        """One connection for the batch, unless the relay is down and it is not our turn."""
        if self.sender is not None:
            return True
        wait = relay.wait_seconds(self.campaign)
        if wait:
            self.wait_for_relay(index, wait)
            return False
        sender = sender_for(self.campaign)
        try:
            sender.open()
        except Transient as error:
            self.wait_for_relay(index, relay.down(self.campaign, str(error)))
            return False
        self.sender = sender
        return True

    def wait_for_relay(self, index: int, wait: float) -> None:
        ids = self.rest(index)
        ledger.wait_for_relay(ids, wait)
        self.outcome.waiting_ids.extend(ids)
        self.outcome.wait = max(self.outcome.wait, wait)

    def pace(self, index: int) -> None:
        """Wait for the global send rate (a few messages' permission at a time)."""
        if self.allowance == 0:
            self.allowance = self.limiter.take(len(self.rows) - index)
        self.allowance -= 1

    def send_one(self, index: int, row: Delivery, body, tracked: bool) -> bool:
        subscriber = row.subscriber
        personalised = rendering.personalise(
            body, subscriber, delivery_id=row.pk if tracked else None
        )
        try:
            message_id = self.sender.send(subscriber, personalised, new_message_id(), row.pk)
        except Refused as error:
            ledger.bounce(row, str(error))
            self.outcome.bounced += 1
            self.untold[reputation.BOUNCED] += 1
        except Rejected as error:
            ledger.mark(row, Status.FAILED, error=str(error), attempted=True)
            self.outcome.failed += 1
            self.untold[reputation.REJECTED] += 1
        except Transient as error:
            if error.relay:
                # The server's failure, not this reader's: this row and the rest wait for it.
                self.wait_for_relay(index, relay.down(self.campaign, str(error)))
                return False
            self.retry(row, str(error))
        else:
            ledger.mark_sent(row, message_id)
            self.outcome.sent += 1
            self.untold[reputation.SENT] += 1
        if not self.relay_answered:
            # It answered for this recipient, whatever it said: the server itself works.
            self.relay_answered = True
            relay.up(self.campaign)
        return True

    def wait_for_round(self, index: int, row: Delivery, body, tracked: bool) -> bool:
        """Through an ESP, messages go a round at a time (its batch calls, in parallel). False
        when the ESP throttled the round: the batch stops, and its rest waits with it."""
        message = Outgoing(row.pk, row.subscriber, body, tracked, new_message_id())
        self.waiting.append((row, message))
        if len(self.waiting) >= self.sender.round_size:
            return self.send_round(after=index + 1)
        return True

    def send_round(self, *, after: int | None = None) -> bool:
        """Send what waits for a round. False when the ESP throttled it: its throttled rows and
        the batch's rows from `after` on wait for the ESP together, charged to nobody."""
        if not self.waiting:
            return True
        rows = {row.pk: row for row, _ in self.waiting}
        results = self.sender.send_many([message for _, message in self.waiting])
        self.waiting = []
        sent = {pk: result.message_id for pk, result in results.items() if result.status == SENT}
        ledger.mark_sent_many(sent)
        self.outcome.sent += len(sent)
        self.untold[reputation.SENT] += len(sent)
        if sent and not self.relay_answered:
            self.relay_answered = True
            relay.up(self.campaign)
        throttled = {pk: r for pk, r in results.items() if r.status == THROTTLED}
        for pk, result in results.items():
            row = rows[pk]
            if result.status == BOUNCED:
                ledger.bounce(row, result.error)
                self.outcome.bounced += 1
                self.untold[reputation.BOUNCED] += 1
            elif result.status == REJECTED:
                ledger.mark(row, Status.FAILED, error=result.error, attempted=True)
                self.outcome.failed += 1
                self.untold[reputation.REJECTED] += 1
            elif result.status == RETRY:
                self.retry(row, result.error, at_least=result.retry_after)
        if not throttled:
            return True
        first = next(iter(throttled.values()))
        wait = max(relay.down(self.campaign, first.error), first.retry_after)
        ids = list(throttled) + (self.rest(after) if after is not None else [])
        ledger.wait_for_relay(ids, wait)
        self.outcome.waiting_ids.extend(ids)
        self.outcome.wait = max(self.outcome.wait, wait)
        return False

    def retry(self, row: Delivery, error: str, *, at_least: float = 0) -> None:
        """This recipient failed transiently: back to the queue for a later task (not before
        `at_least` seconds), or failed once the retry horizon has passed since its first try."""
        if retries.gives_up(row.first_attempt_at, timezone.now()):
            ledger.mark(
                row,
                Status.FAILED,
                error=f"Gave up after {retries.horizon_text()} of retries: {error}",
                attempted=True,
            )
            self.outcome.failed += 1
            return
        delay = max(retries.retry_delay(row.attempts + 1), at_least)
        ledger.retry_later(row, error, delay)
        self.outcome.retry_ids.append(row.pk)
        self.outcome.retry_in = max(self.outcome.retry_in, delay)
