"""Celery tasks: thin wrappers that take ids and call one service."""

from celery import shared_task


@shared_task
def tick():
    """Runs every minute from beat: due digests and campaigns. (Filled in by the delivery work.)"""
