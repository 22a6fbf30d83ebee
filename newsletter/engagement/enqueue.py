"""Every task engagement queues, queued once the current transaction commits (so a worker never
looks for a row that is not committed yet). The package's only import of newsletter.tasks is
here."""

from django.db import transaction

from newsletter import tasks


def rsvp_email(rsvp_id: int, kind: str) -> None:
    transaction.on_commit(lambda: tasks.send_rsvp_email.delay(rsvp_id, kind))


def interest_notice(interest_id: int) -> None:
    transaction.on_commit(lambda: tasks.notify_interest.delay(interest_id))
