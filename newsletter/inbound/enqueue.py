"""Every task inbound queues, queued once the current transaction commits (so a worker never looks
for a row that is not committed yet). The package's only import of newsletter.tasks is here."""

from django.db import transaction

from newsletter import tasks


def webhook_event(event_id: int) -> None:
    transaction.on_commit(lambda: tasks.process_webhook_event.delay(event_id))
