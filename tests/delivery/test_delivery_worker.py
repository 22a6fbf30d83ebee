"""Delivery with real Celery worker processes, PostgreSQL, Redis and an SMTP server on loopback.

The test process plays beat: it calls the tick (which enqueues to Redis) and the workers do the
rest. Workers run with short leases so that the sweeper's recovery happens within a test.
"""

import collections
import shutil
import subprocess
import threading
import time

import pytest
import redis

from engage.celery import app as celery_app
from newsletter import delivery, tasks
from newsletter.models import Campaign, Delivery, Subscriber
from tests.campaign_runs import audience, due_campaign, per_recipient, tick_until_sent
from tests.support import free_port, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 10
WORKER_ENV = {"DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS), "SEND_BATCH_SIZE": "50"}


@pytest.fixture(autouse=True)
def _short_leases(settings):
    # The sweeper runs here, in the test process, with the workers' lease.
    settings.DELIVERY_LEASE_SECONDS = LEASE_SECONDS
    settings.SEND_BATCH_SIZE = 50


def test_a_campaign_to_a_thousand_subscribers_arrives_once_each_and_well_formed(
    topics, sink, start_worker
):
    start_worker(extra_env=WORKER_ENV)
    people = audience(topics, 1000)
    campaign = due_campaign(topics)

    tick_until_sent(campaign)

    received = per_recipient(sink.received)
    assert received == collections.Counter({person.email: 1 for person in people})
    messages = [r.message for r in sink.received]
    assert len({m["Message-ID"] for m in messages}) == 1000
    for message in messages[::50]:
        assert message.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in message.iter_parts()] == [
            "text/plain",
            "text/html",
        ]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "<mailto:" in message["List-Unsubscribe"] and "/unsubscribe/" in str(
            message["List-Unsubscribe"]
        )
        assert message["List-Id"] and message["Subject"] == campaign.subject
        [to] = message["To"].addresses
        row = Delivery.objects.get(campaign=campaign, subscriber__email=to.addr_spec)
        assert row.message_id == message["Message-ID"]
        assert f"Dear {to.display_name}" in message.get_body(("plain",)).get_content()
    assert (campaign.recipients_count, campaign.sent_count) == (1000, 1000)


def test_a_worker_killed_mid_campaign_loses_nothing_and_repeats_at_most_its_concurrency(
    topics, sink, start_worker
):
    doomed = start_worker(extra_env=WORKER_ENV, concurrency=2)
    people = audience(topics, 1000)
    campaign = due_campaign(topics)
    assert delivery.start_due_campaigns() == 1

    wait_until(lambda: len(sink.received) >= 150, 60, message="the campaign to be under way")
    doomed.kill()
    assert len(sink.received) < 1000, "the kill came too late to prove anything"
    start_worker(extra_env=WORKER_ENV)
    tick_until_sent(campaign)

    received = per_recipient(sink.received)
    assert set(received) == {person.email for person in people}
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates <= doomed.concurrency
    assert campaign.sent_count == 1000


def test_a_server_answering_421_for_a_while_gets_everything_after_it_recovers_once(
    topics, sink, start_worker
):
    start_worker(extra_env=WORKER_ENV)
    people = audience(topics, 200)
    campaign = due_campaign(topics)
    sink.handler.temporary_failure = "421 4.3.2 Service busy, try again later"

    assert delivery.start_due_campaigns() == 1
    wait_until(
        lambda: Campaign.objects.filter(pk=campaign.pk).exclude(relay_down_since=None).exists(),
        60,
        message="the first refusals",
    )
    assert sink.received == []
    # A 421 is the server's failure, charged to no recipient.
    assert not Delivery.objects.filter(campaign=campaign, attempts__gt=0).exists()
    sink.handler.temporary_failure = None
    tick_until_sent(campaign)

    assert per_recipient(sink.received) == collections.Counter(
        {person.email: 1 for person in people}
    )
    assert campaign.sent_count == 200 and campaign.failed_count == 0


def test_refused_recipients_are_bounced_and_not_mailed_by_the_next_campaign(
    topics, sink, start_worker
):
    start_worker(extra_env=WORKER_ENV)
    people = audience(topics, 300)
    refused = {person.email for person in people[::30]}
    for address in refused:
        sink.handler.refuse[address] = "550 5.1.1 No such mailbox here"

    first = tick_until_sent(due_campaign(topics))

    welcome = {person.email for person in people} - refused
    assert per_recipient(sink.received) == collections.Counter({address: 1 for address in welcome})
    assert (
        set(
            Delivery.objects.filter(campaign=first, status=Delivery.Status.BOUNCED).values_list(
                "subscriber__email", flat=True
            )
        )
        == refused
    )
    assert (
        set(
            Subscriber.objects.filter(status=Subscriber.Status.BOUNCED).values_list(
                "email", flat=True
            )
        )
        == refused
    )
    assert (first.sent_count, first.bounced_count) == (len(welcome), len(refused))

    sink.reset()
    tick_until_sent(due_campaign(topics))
    assert per_recipient(sink.received) == collections.Counter({address: 1 for address in welcome})


@pytest.fixture
def own_redis():
    """A Redis server of this test's own, which it may restart (the shared one is not ours)."""
    server = shutil.which("redis-server")
    port = free_port()
    command = [
        server,
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--bind",
        "127.0.0.1",
    ]

    class OwnRedis:
        url = f"redis://127.0.0.1:{port}/0"
        proc = None

        def start(self):
            self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
            client = redis.Redis.from_url(self.url)
            wait_until(self._answers(client), 10, message="redis-server to start")

        @staticmethod
        def _answers(client):
            def ping():
                try:
                    return client.ping()
                except redis.ConnectionError:
                    return False

            return ping

        def stop(self):
            self.proc.terminate()
            self.proc.wait(timeout=10)

    own = OwnRedis()
    own.start()
    yield own
    own.stop()


@pytest.fixture
def broker_at(settings):
    """Point this process's Celery app at another broker for the test."""
    names = ("broker_url", "broker_read_url", "broker_write_url")
    saved = {name: celery_app.conf[name] for name in names}

    def use(url):
        celery_app.conf.update({name: url for name in names})
        celery_app._after_fork()  # drop the connection pools made for the old URL

    yield use
    celery_app.conf.update(saved)
    celery_app._after_fork()


def test_a_campaign_completes_when_redis_restarts_mid_send(
    topics, sink, start_worker, own_redis, broker_at
):
    broker_at(own_redis.url)
    start_worker(extra_env={**WORKER_ENV, "CELERY_BROKER_URL": own_redis.url})
    people = audience(topics, 1000)
    campaign = due_campaign(topics)
    assert delivery.start_due_campaigns() == 1

    wait_until(lambda: len(sink.received) >= 150, 60, message="the campaign to be under way")
    own_redis.stop()  # every queued task is lost: this Redis keeps nothing on disk
    time.sleep(1)
    own_redis.start()
    assert len(sink.received) < 1000, "the restart came too late to prove anything"
    tick_until_sent(campaign, timeout=180)

    received = per_recipient(sink.received)
    assert set(received) == {person.email for person in people}
    assert campaign.sent_count == 1000


def test_two_ticks_at_once_and_redelivered_batches_send_nothing_twice(topics, sink, start_worker):
    worker = start_worker(extra_env=WORKER_ENV)
    people = audience(topics, 600)
    campaign = due_campaign(topics)

    started = []
    barrier = threading.Barrier(2)

    def tick():
        barrier.wait()
        started.append(delivery.start_due_campaigns())

    ticks = [threading.Thread(target=tick) for _ in range(2)]
    for thread in ticks:
        thread.start()
    for thread in ticks:
        thread.join()
    assert sorted(started) == [0, 1]

    # Redis hands the same batches out again (as after a visibility timeout) while they run.
    wait_until(
        lambda: Campaign.objects.filter(pk=campaign.pk).exclude(prepared_at=None).exists(),
        60,
        message="the ledger",
    )
    ids = list(
        Delivery.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True)
    )
    again = [tasks.send_batch.delay(ids[i : i + 50]).id for i in range(0, len(ids), 50)]
    tick_until_sent(campaign)
    wait_until(
        lambda: all(f"[{task_id}] succeeded" in worker.output() for task_id in again),
        60,
        message="the redelivered batches to run",
    )

    assert per_recipient(sink.received) == collections.Counter(
        {person.email: 1 for person in people}
    )
