"""Every task the subscriber journeys queues, queued once the current transaction commits (so a
worker never looks for a row that is not committed yet). The package's only import of
newsletter.tasks is here."""

from django.db import transaction

from newsletter import tasks


def signup_processing(signup_id: int) -> None:
    transaction.on_commit(lambda: tasks.process_signup.delay(signup_id))


def import_job(job_id: int) -> None:
    transaction.on_commit(lambda: tasks.import_subscribers.delay(job_id))
