"""A receiver that goes away for five minutes: a real Celery worker delivers through the ledger,
the receiver (its own process, verifying with the Standard Webhooks library) is stopped
mid-stream and started again, and every event arrives, verified, in sequence order, none lost.

No setting is shortened: WEBHOOK_RETRY_FIRST (30 s), WEBHOOK_RETRY_MAX (5 min) and the 24 h
horizon are production's. WEBHOOK_ALLOW_LOOPBACK is on, as the receiver is on loopback."""

import time

import pytest
from django.conf import settings

from newsletter.models import Subscriber, WebhookDelivery
from newsletter.subscribers import subscriptions
from tests.api.conftest import endpoint_for
from tests.factories import SubscriberFactory
from tests.support import wait_until

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(1200),
]

OUTAGE = 300  # seconds


def _unsubscribe(count: int) -> list[int]:
    readers = [SubscriberFactory(status=Subscriber.Status.ACTIVE) for _ in range(count)]
    for reader in readers:
        subscriptions.unsubscribe(subscriber_id=reader.pk)  # one event each, queued on commit
    return [reader.pk for reader in readers]


def test_every_event_arrives_verified_in_order_after_a_five_minute_outage(
    receiver, start_worker, topics
):
    hook = receiver()
    endpoint_for(hook, events=["subscriber.unsubscribed"])
    start_worker(extra_env={"WEBHOOK_ALLOW_LOOPBACK": "true"})

    emitted = _unsubscribe(20)
    wait_until(lambda: len(hook.received()) >= 20, 120, message="the first 20 events")
    hook.stop()
    stopped = time.monotonic()
    for _ in range(4):  # events keep happening while the receiver is away
        emitted += _unsubscribe(5)
        time.sleep(15)
    time.sleep(max(0, OUTAGE - (time.monotonic() - stopped)))
    hook.start()
    emitted += _unsubscribe(20)
    wait_until(
        lambda: len({e["payload"]["sequence"] for e in hook.received()}) >= 60,
        settings.WEBHOOK_RETRY_MAX + 240,
        interval=2,
        message="all 60 events after the outage",
    )

    got = hook.received()
    first = {}
    for each in got:
        first.setdefault(each["payload"]["sequence"], each)
    assert all(each["verified"] for each in got)
    assert sorted(first) == list(range(1, 61))  # none lost
    # In sequence order, the subscribers are those unsubscribed, in the order they were.
    ordered = [first[n]["payload"]["data"]["subscriber"]["id"] for n in sorted(first)]
    assert ordered == emitted
    # Nothing overtakes a window of earlier events: the receiver never waits long to order them.
    window = settings.WEBHOOK_WINDOW
    for n, each in first.items():
        for earlier in range(1, n - window + 1):
            assert first[earlier]["at"] <= each["at"], (earlier, n)
    assert WebhookDelivery.objects.filter(status="delivered").count() == 60
    retried = WebhookDelivery.objects.filter(attempts__gt=1)
    assert retried.count() >= 20  # those emitted during the outage were retried
