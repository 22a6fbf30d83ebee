"""Every task the webhooks queue, once the current transaction commits. The package's only
import of newsletter.tasks is here."""

from django.db import transaction

from newsletter import tasks


def drain(endpoint_id: int) -> None:
    transaction.on_commit(lambda: tasks.deliver_webhooks.delay(endpoint_id))
