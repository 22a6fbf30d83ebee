"""Every task campaigns queues, queued once the current transaction commits (so a worker never
looks for a row that is not committed yet). The package's only import of newsletter.tasks is
here."""

from django.db import transaction

from newsletter import tasks


def test_send(campaign_id: int, addresses: list[str], topic_slugs: list[str]) -> None:
    transaction.on_commit(
        lambda: tasks.send_test_campaign.delay(campaign_id, addresses, topic_slugs)
    )
