"""A campaign goes out through faults: the mail server gone for a while, PostgreSQL stopped and
started mid-send. Real worker processes, a real SMTP server on loopback, Redis; the database
outage runs on a private PostgreSQL server (tests/pgserver.py), never the shared one."""

import collections
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from django.conf import settings

from newsletter import delivery
from newsletter.models import Campaign, Delivery
from tests.campaign_runs import audience, due_campaign, per_recipient, tick_until_sent
from tests.pgserver import PgServer
from tests.support import ROOT, SinkHandler, SmtpSink, free_port, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.timeout(240)]

LEASE_SECONDS = 10
WORKER_ENV = {
    "DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS),
    "SEND_BATCH_SIZE": "50",
    # A connection the server stopped answering fails in seconds, not the default 30.
    "EMAIL_TIMEOUT": "3",
}


@pytest.fixture
def short_leases(settings):
    # The sweeper runs in this process (tick) with the workers' lease.
    settings.DELIVERY_LEASE_SECONDS = LEASE_SECONDS


def waiting_for_the_relay(campaign: Campaign) -> bool:
    """The campaign says it is waiting for the mail server, with rows queued for it."""
    campaign.refresh_from_db()
    return (
        campaign.relay_down_since is not None
        and Delivery.objects.filter(campaign=campaign, status=Delivery.Status.QUEUED).exists()
    )


# --- The mail server gone ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_mail_server_that_is_not_there_yet_gets_every_message_exactly_once_when_it_comes(
    topics, start_worker, short_leases
):
    port = free_port()  # nothing listens here until the test says so
    start_worker(email_url=f"smtp://127.0.0.1:{port}", extra_env=WORKER_ENV)
    people = audience(topics, 120)
    campaign = due_campaign(topics)

    assert delivery.start_due_campaigns() == 1
    wait_until(lambda: waiting_for_the_relay(campaign), 90, message="refused connections")
    time.sleep(5)  # a few probes more
    assert not Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT).exists()
    assert campaign.status == Campaign.Status.SENDING
    assert "Could not connect" in campaign.relay_error

    handler = SinkHandler()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        tick_until_sent(campaign)
    finally:
        server.stop()

    assert per_recipient(handler.received) == collections.Counter(
        {person.email: 1 for person in people}
    )
    rows = Delivery.objects.filter(campaign=campaign)
    assert set(rows.values_list("status", flat=True)) == {Delivery.Status.SENT}
    # Refused connections are the relay's failures: no row was charged for them.
    assert set(rows.values_list("attempts", flat=True)) == {1}
    assert (campaign.sent_count, campaign.failed_count) == (120, 0)
    assert campaign.relay_down_since is None and campaign.relay_error == ""


@pytest.mark.django_db(transaction=True)
def test_a_mail_server_that_goes_away_mid_send_gets_the_rest_when_it_is_back(
    topics, start_worker, short_leases
):
    own = SmtpSink().start()  # the session's sink is shared: stop only one of our own
    worker = start_worker(
        email_url=own.url, extra_env={**WORKER_ENV, "SEND_RATE_PER_SECOND": "100"}
    )
    people = audience(topics, 300)
    campaign = due_campaign(topics)

    assert delivery.start_due_campaigns() == 1
    own.wait_for(60)
    own.stop()
    cut_at = len(own.received)
    assert cut_at < 300, "the server went away too late to prove anything"
    wait_until(lambda: waiting_for_the_relay(campaign), 60, message="the relay noted as down")
    time.sleep(5)  # a few probes more
    assert len(own.received) == cut_at

    back = Controller(own.handler, hostname="127.0.0.1", port=own.port)
    back.start()
    try:
        tick_until_sent(campaign)
    finally:
        back.stop()

    received = per_recipient(own.received)
    assert set(received) == {person.email for person in people}
    # At most the messages in flight when the connection dropped went twice.
    assert sum(count - 1 for count in received.values()) <= worker.concurrency
    rows = Delivery.objects.filter(campaign=campaign)
    assert set(rows.values_list("status", flat=True)) == {Delivery.Status.SENT}
    assert (campaign.sent_count, campaign.failed_count) == (300, 0)
    assert campaign.relay_down_since is None


# --- PostgreSQL stopped and started mid-send ----------------------------------------------------

SEED = """
from datetime import timedelta
from django.utils import timezone
from newsletter.models import Campaign, CampaignPost, Post, Subscriber, Topic

news = Topic.objects.get(slug="news")
people = Subscriber.objects.bulk_create(
    Subscriber(email=f"reader{i}@example.org", status="active", confirmed_at=timezone.now())
    for i in range(COUNT)
)
Subscriber.topics.through.objects.bulk_create(
    Subscriber.topics.through(subscriber_id=p.pk, topic_id=news.pk) for p in people
)
post = Post.objects.create(
    title="Clinic news", slug="clinic-news", topic=news, status="published",
    published_at=timezone.now(), url="https://engage.example.org/clinic-news/",
)
campaign = Campaign.objects.create(
    subject="Through an outage", slug="through-an-outage", status="scheduled",
    scheduled_at=timezone.now() - timedelta(seconds=1),
)
campaign.topics.add(news)
CampaignPost.objects.create(campaign=campaign, post=post, position=0)
"""
COUNT = 500


class Beat:
    """`celery beat` ticking every second, its schedule file in a temp dir (not the shared var/)."""

    def __init__(self, *, database_url: str, queue: str):
        self.dir = Path(tempfile.mkdtemp(prefix="engage-beat-"))
        self.log = open(self.dir / "beat.log", "wb")  # noqa: SIM115 - beat writes it until stop()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "engage.settings",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "ENGAGE_VAR_DIR": str(self.dir),
            "TICK_SECONDS": "1",
            "CELERY_QUEUE": queue,
        }
        self.proc = None

    def start(self) -> "Beat":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "engage", "beat", "--loglevel=INFO"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        self.log.close()


@pytest.fixture
def private_database():
    with PgServer() as server:
        url = server.create_database("engage")
        server.migrate(url)
        yield server


def seed(url: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEED.replace("COUNT", str(COUNT))],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def campaign_row(server: PgServer):
    """(status, sent_count) of the campaign, or None while the database does not answer."""
    try:
        with server.connect("engage") as conn:
            return conn.execute(
                "SELECT status, sent_count FROM newsletter_campaign WHERE slug = %s",
                ["through-an-outage"],
            ).fetchone()
    except psycopg.OperationalError:
        return None


def test_a_campaign_sending_through_a_database_outage_completes_with_everyone_mailed(
    private_database, start_worker, sink
):
    """Batches that meet the outage retry within seconds; rows they had claimed keep their lease,
    and the sweeper (beat's tick, in the worker here) hands them out again once it runs out."""
    url = private_database.url("engage")
    seed(url)
    # A queue of their own: the session's worker (on the test database) must not take these tasks.
    queue = f"outage-{uuid.uuid4().hex[:8]}"
    worker = start_worker(
        extra_env={
            **WORKER_ENV,
            "DATABASE_URL": url,
            "CELERY_QUEUE": queue,
            "SEND_RATE_PER_SECOND": "100",
        }
    )
    beat = Beat(database_url=url, queue=queue).start()
    try:
        sink.wait_for(100, timeout=60)
        private_database.stop()
        cut_at = len(sink.received)
        assert cut_at < COUNT, "the database went away too late to prove anything"
        time.sleep(4)  # the outage
        private_database.start()

        wait_until(
            lambda: campaign_row(private_database) == ("sent", COUNT),
            120,
            interval=0.5,
            message="the campaign to be sent after the outage",
        )
    finally:
        beat.stop()

    received = per_recipient(sink.received)
    assert set(received) == {f"reader{i}@example.org" for i in range(COUNT)}
    # A message the server took while its row could not be marked sent goes again: at most one
    # per worker process.
    assert sum(count - 1 for count in received.values()) <= worker.concurrency
    assert worker.proc.poll() is None, "the worker died in the outage"
    statuses = private_database.scalar(
        "engage",
        "SELECT string_agg(DISTINCT status, ',') FROM newsletter_delivery",
    )
    assert statuses == "sent"
