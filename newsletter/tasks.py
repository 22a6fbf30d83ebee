"""Celery tasks: thin wrappers that take ids and call one service."""

import smtplib

from celery import shared_task


@shared_task
def tick():
    """Runs every minute from beat: due digests and campaigns. (Filled in by the delivery work.)"""


@shared_task(
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def send_confirmation(subscriber_id: int):
    """The double opt-in email; the service decides whether one is due (resend interval)."""
    from . import subscriptions

    subscriptions.send_confirmation(subscriber_id=subscriber_id)


@shared_task(
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=3,
)
def send_test_campaign(campaign_id: int, addresses: list[str], topic_slugs: list[str]):
    """A staff test send of a campaign: to the given addresses only, never to the audience."""
    from . import emails

    emails.campaign_send_test(campaign_id=campaign_id, addresses=addresses, topic_slugs=topic_slugs)


@shared_task
def process_webhook_event(event_id: int):
    """An ESP's bounce, complaint, unsubscribe or engagement event, stored by the webhook."""
    from . import webhooks

    webhooks.webhook_event_process(event_id=event_id)
