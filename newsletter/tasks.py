"""Celery tasks: thin wrappers that take ids and call one service."""

import logging
import smtplib

from celery import shared_task
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

# About half an hour of retries (backoff capped at a minute) through a database outage.
DATABASE_RETRIES = 35

# One email to one person (a confirmation, a test send, an RSVP's answer): a mail server that is
# away or refusing for now is tried five more times, with waits growing up to 10 minutes.
MAIL_RETRIES = {
    "autoretry_for": (OSError, smtplib.SMTPException),
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "max_retries": 5,
}


class TickFailed(Exception):
    """One or more of tick's jobs failed (each logged with its traceback); the others ran."""


def tick_jobs() -> list:
    """What tick runs, in order: due digests and campaigns, lost work, finished campaigns."""
    from newsletter import delivery
    from newsletter.api import idempotency, webhooks
    from newsletter.campaigns import digests
    from newsletter.delivery import ab_phases
    from newsletter.engagement import event_reminders, rsvp

    return [
        digests.run_due_schedules,
        rsvp.fill_open_places,
        event_reminders.follow_moved_events,
        event_reminders.schedule_due_reminders,
        event_reminders.send_guest_reminders,
        delivery.start_due_campaigns,
        delivery.queue_due_waves,
        delivery.sweep_expired_leases,
        ab_phases.pick_due_winners,
        delivery.finish_campaigns,
        webhooks.queue_due,
        idempotency.forget_old,
    ]


@shared_task
def tick():
    """Runs every minute from beat. Each job runs whatever another one did: a digest that cannot
    be composed must not stop due campaigns, the sweeper or the finish (a job's failure is logged
    and the task fails at the end, so monitoring sees it)."""
    failed = []
    for job in tick_jobs():
        try:
            job()
        except Exception:  # any failure: the next job is independent of this one
            logger.exception("tick: %s failed", job.__qualname__)
            failed.append(job.__qualname__)
    if failed:
        raise TickFailed(f"{', '.join(failed)} failed; the other jobs ran")


@shared_task
def series_tick():
    """Every minute from beat: series readers who left stopped, due steps into the ledger."""
    from newsletter import series

    series.run_due_steps()


@shared_task
def start_campaign(campaign_id: int):
    """A campaign sent now starts without waiting for beat (beat starts it anyway if this task is
    lost): the same start as tick's, for this campaign only."""
    from newsletter import delivery

    delivery.start_due_campaigns(campaign_id=campaign_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def prepare_campaign(campaign_id: int):
    """The campaign's Delivery ledger, and one send_batch per chunk of it."""
    from newsletter import delivery

    delivery.prepare(campaign_id)


# A batch stops itself well before these limits (delivery.BATCH_TIME_BUDGET_SECONDS), and they are
# far inside Redis's visibility timeout, so a slow batch is never redelivered while it runs.
@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=DATABASE_RETRIES,  # database outages only: later tries are fresh tasks
    soft_time_limit=290,
    time_limit=300,
)
def send_batch(self, delivery_ids: list[int]):
    """Send the still-queued rows among `delivery_ids`. Rows left for later (a transient
    failure, the relay down, the time budget spent) are handed to fresh tasks by the service, so
    this task's own retries count database outages only."""
    from newsletter import delivery

    try:
        delivery.send_batch(delivery_ids)
    except (OperationalError, InterfaceError) as error:
        # The database is away. Rows this batch had not claimed yet are sent by the retry as soon
        # as it is back; rows it had claimed wait for their lease to run out (the sweeper).
        countdown = min(60, 2**self.request.retries)
        raise self.retry(exc=error, countdown=countdown)


@shared_task(**MAIL_RETRIES)
def process_signup(signup_id: int):
    """A stored signup: the subscriber of a new address, and its confirmation email if due."""
    from newsletter.subscribers import signups

    signups.signup_process(signup_id=signup_id)


@shared_task(**MAIL_RETRIES)
def send_test_campaign(campaign_id: int, addresses: list[str], topic_slugs: list[str]):
    """A staff test send of a campaign: to the given addresses only, never to the audience."""
    from newsletter.campaigns import sendtest

    sendtest.campaign_send_test(
        campaign_id=campaign_id, addresses=addresses, topic_slugs=topic_slugs
    )


@shared_task
def process_webhook_event(event_id: int):
    """An ESP's bounce, complaint, unsubscribe or engagement event, stored by the webhook."""
    from newsletter.inbound import webhooks

    webhooks.webhook_event_process(event_id=event_id)


@shared_task(**MAIL_RETRIES)
def send_rsvp_email(rsvp_id: int, kind: str):
    """An RSVP's confirmation, a waitlist promotion, or a visitor's link."""
    from newsletter.engagement import rsvp

    rsvp.send_email(rsvp_id=rsvp_id, kind=kind)


@shared_task(**MAIL_RETRIES)
def notify_interest(interest_id: int):
    """Tell a post's staff contact that a reader said "count me in"."""
    from newsletter.engagement import interest

    interest.notify_contact(interest_id=interest_id)


@shared_task(
    bind=True,
    autoretry_for=(OSError, OperationalError, InterfaceError),
    retry_backoff=10,
    retry_backoff_max=300,
    max_retries=5,
)
def inbound_poll(self):
    """Every INBOUND_POLL_SECONDS from beat: the mailbox's new messages, recorded and acted on.
    A failure half-way (the mailbox or the database away) loses nothing: what was not recorded
    is not flagged, and the next poll takes it."""
    from django.conf import settings

    from newsletter.inbound import imap

    if settings.INBOUND_MAILBOX_URL:
        imap.poll(settings.INBOUND_MAILBOX_URL)


@shared_task
def apply_retention():
    """Daily from beat: delete or blank what has been kept for its configured period."""
    from newsletter.subscribers import retention

    retention.apply_retention()


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=DATABASE_RETRIES)
def import_subscribers(self, job_id: int):
    """A CSV import staff started in admin, a chunk per transaction; a redelivered task resumes
    after the last chunk written."""
    from newsletter.subscribers import imports

    try:
        imports.run_job(job_id)
    except (OperationalError, InterfaceError) as error:
        raise self.retry(exc=error, countdown=min(60, 2**self.request.retries))
    except Exception:
        # Not a page that polls for ever: the job says it stopped (rows written so far stay;
        # importing the file again adds the rest).
        imports.fail_job(job_id, "The import stopped on an error: upload the file again.")
        raise


@shared_task
def deliver_webhooks(endpoint_id: int):
    """Drain one webhook endpoint's ledger; look again when its next retry is due."""
    from newsletter.api import webhooks

    wait = webhooks.drain(endpoint_id)
    if wait is not None:
        deliver_webhooks.apply_async((endpoint_id,), countdown=max(1.0, wait))
