"""The delivery pipeline, one step at a time (tasks run in-process; mail to locmem or the sink)."""

import socket
import time
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
import redis
from django.core import mail
from django.core.cache import cache
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.utils import timezone

from newsletter import delivery
from newsletter.admin import progress as progress_admin
from newsletter.campaigns.snapshot import render_body
from newsletter.campaigns.states import transition
from newsletter.delivery import batch, ledger, relay
from newsletter.mail import messages, rendering, sendrate
from newsletter.models import Campaign, Delivery, Subscriber
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

Status = Delivery.Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(topics):
    posts = [PostFactory(topic=topics["news"]), PostFactory(topic=topics["events"])]
    return CampaignFactory(
        posts=posts,
        topics=[topics["news"], topics["events"]],
        status=Campaign.Status.SENDING,
        started_at=timezone.now(),
    )


def readers(topics, count, *, slugs=("news",), **fields):
    fields.setdefault("active", True)
    return [
        SubscriberFactory(topics=[topics[slug] for slug in slugs], **fields) for _ in range(count)
    ]


def prepared(campaign, capture) -> list[int]:
    """Prepare the ledger without running the queued batches; the ledger's ids."""
    with capture():
        delivery.prepare(campaign.pk)
    return list(
        Delivery.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True)
    )


def statuses(campaign) -> dict[str, int]:
    return {k: v for k, v in delivery.campaign_counts(campaign).items() if v}


# --- start and prepare ---------------------------------------------------------------------------


def test_a_due_campaign_starts_once_and_queues_one_preparation(
    topics, django_capture_on_commit_callbacks
):
    due = CampaignFactory(
        topics=[topics["news"]],
        posts=[PostFactory(topic=topics["news"])],
        status=Campaign.Status.SCHEDULED,
        scheduled_at=timezone.now() - timedelta(minutes=1),
    )
    later = CampaignFactory(
        topics=[topics["news"]],
        posts=[PostFactory(topic=topics["news"])],
        status=Campaign.Status.SCHEDULED,
        scheduled_at=timezone.now() + timedelta(hours=1),
    )
    with django_capture_on_commit_callbacks() as first:
        assert delivery.start_due_campaigns() == 1
    with django_capture_on_commit_callbacks() as second:
        assert delivery.start_due_campaigns() == 0

    due.refresh_from_db()
    later.refresh_from_db()
    assert due.status == Campaign.Status.SENDING and due.started_at is not None
    assert later.status == Campaign.Status.SCHEDULED
    assert len(first) == 1 and second == []


def test_a_stale_tick_cannot_start_a_campaign_twice(topics):
    campaign = CampaignFactory(
        topics=[topics["news"]],
        posts=[PostFactory(topic=topics["news"])],
        status=Campaign.Status.SCHEDULED,
        scheduled_at=timezone.now() - timedelta(minutes=1),
    )
    seen_by_the_other_tick = Campaign.objects.get(pk=campaign.pk)
    assert delivery.start_due_campaigns() == 1
    with pytest.raises(Exception, match="changed meanwhile"):
        transition(seen_by_the_other_tick, Campaign.Status.SENDING)


def test_the_ledger_holds_each_matching_active_subscriber_once_and_can_be_written_again(
    topics, campaign, settings, django_capture_on_commit_callbacks
):
    settings.PREPARE_CHUNK_SIZE = 3
    settings.SEND_BATCH_SIZE = 2
    audience = readers(topics, 4) + readers(topics, 2, slugs=("news", "events"))
    readers(topics, 2, slugs=("education",))  # other topics
    readers(topics, 1, active=False)  # pending
    readers(topics, 1, unsubscribed=True)
    readers(topics, 1, status=Subscriber.Status.BOUNCED, suppressed_at=timezone.now())

    with django_capture_on_commit_callbacks() as queued:
        delivery.prepare(campaign.pk)
    with django_capture_on_commit_callbacks():
        delivery.prepare(campaign.pk)  # a redelivered preparation

    ledger = Delivery.objects.filter(campaign=campaign)
    assert sorted(ledger.values_list("subscriber_id", flat=True)) == sorted(s.pk for s in audience)
    assert set(ledger.values_list("status", flat=True)) == {Status.QUEUED}
    campaign.refresh_from_db()
    assert campaign.prepared_at is not None
    assert len(queued) == 4  # 6 rows written in chunks of 3, queued in batches of 2


# --- send ----------------------------------------------------------------------------------------


def test_a_batch_sends_each_row_once_and_a_second_run_sends_nothing(
    topics, campaign, django_capture_on_commit_callbacks
):
    people = readers(topics, 3)
    ids = prepared(campaign, django_capture_on_commit_callbacks)

    outcome = delivery.send_batch(ids)
    again = delivery.send_batch(ids)  # a redelivered task

    assert (outcome.sent, again.sent) == (3, 0)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        messages.display_address(p.first_name, p.email) for p in people
    )
    rows = Delivery.objects.filter(campaign=campaign)
    assert {r.status for r in rows} == {Status.SENT}
    assert len({r.message_id for r in rows}) == 3
    assert {r.message_id for r in rows} == {m.extra_headers["Message-ID"] for m in mail.outbox}


def test_a_batch_that_meets_a_database_outage_retries_in_seconds_and_sends_once(
    topics, campaign, django_capture_on_commit_callbacks, monkeypatch
):
    from celery.exceptions import Retry
    from django.db import OperationalError

    from newsletter import tasks

    readers(topics, 3)
    ids = prepared(campaign, django_capture_on_commit_callbacks)
    real_send_batch = delivery.send_batch

    def database_away(delivery_ids):
        raise OperationalError("connection to server at 127.0.0.1 failed")

    monkeypatch.setattr(delivery, "send_batch", database_away)
    with pytest.raises(Retry) as retry:
        tasks.send_batch.apply(args=[ids])
    assert retry.value.when == 1  # seconds, not a lease period

    monkeypatch.setattr(delivery, "send_batch", real_send_batch)
    tasks.send_batch.apply(args=[ids])  # the retry, once the database is back

    assert len(mail.outbox) == 3
    assert statuses(campaign) == {Status.SENT: 3}


def test_rows_another_worker_holds_are_left_to_it(
    topics, campaign, django_capture_on_commit_callbacks
):
    readers(topics, 3)
    ids = prepared(campaign, django_capture_on_commit_callbacks)
    Delivery.objects.filter(pk=ids[0]).update(
        status=Status.SENDING, lease_expires_at=timezone.now() + timedelta(minutes=5)
    )

    outcome = delivery.send_batch(ids)

    assert outcome.sent == 2 and len(mail.outbox) == 2
    assert Delivery.objects.get(pk=ids[0]).status == Status.SENDING


def test_each_reader_gets_only_the_sections_of_their_topics(
    topics, campaign, django_capture_on_commit_callbacks
):
    [news_only] = readers(topics, 1, slugs=("news",))
    [both] = readers(topics, 1, slugs=("news", "events"))
    delivery.send_batch(prepared(campaign, django_capture_on_commit_callbacks))

    by_reader = {m.to[0]: m.body for m in mail.outbox}
    news, event = (item.post.title for item in campaign.items.order_by("position"))
    mine = by_reader[messages.display_address(news_only.first_name, news_only.email)]
    theirs = by_reader[messages.display_address(both.first_name, both.email)]
    assert news in mine and event not in mine
    assert news in theirs and event in theirs


def test_a_subscriber_who_left_before_their_turn_is_skipped(
    topics, campaign, django_capture_on_commit_callbacks
):
    [leaver, stayer] = readers(topics, 2)
    ids = prepared(campaign, django_capture_on_commit_callbacks)
    Subscriber.objects.filter(pk=leaver.pk).update(status=Subscriber.Status.UNSUBSCRIBED)

    delivery.send_batch(ids)

    assert [m.to[0] for m in mail.outbox] == [
        messages.display_address(stayer.first_name, stayer.email)
    ]
    assert Delivery.objects.get(subscriber=leaver).status == Status.SKIPPED


class StatusChangingBackend(LocmemBackend):
    """Locmem, but after the second message an operator pauses or cancels the campaign."""

    change_to = None

    def send_messages(self, messages):
        sent = super().send_messages(messages)
        if len(mail.outbox) == 2:
            campaign = Campaign.objects.get(status=Campaign.Status.SENDING)
            transition(campaign, self.change_to)
        return sent


@pytest.fixture
def empty_broker_queue():
    """The broker's queue as a deployment's is when its tasks are gone (tasks left there by an
    earlier test run would otherwise look like work still on its way)."""
    from engage.celery import app as celery_app

    with celery_app.connection_for_write() as conn:
        celery_app.control.purge(connection=conn)


@pytest.fixture
def operator_mid_batch(settings, monkeypatch):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.StatusChangingBackend"}}
    monkeypatch.setattr(batch, "STATUS_CHECK_SECONDS", 0)

    def change_to(status):
        monkeypatch.setattr(StatusChangingBackend, "change_to", status)

    return change_to


def test_a_pause_stops_the_batch_and_a_resume_sends_the_rest_once(
    topics, campaign, operator_mid_batch, django_capture_on_commit_callbacks
):
    operator_mid_batch(Campaign.Status.PAUSED)
    readers(topics, 5)
    ids = prepared(campaign, django_capture_on_commit_callbacks)

    delivery.send_batch(ids)
    assert len(mail.outbox) == 2
    assert statuses(campaign) == {Status.SENT: 2, Status.QUEUED: 3}

    campaign.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        delivery.campaign_resume(campaign=campaign)

    assert len(mail.outbox) == 5
    assert len({m.to[0] for m in mail.outbox}) == 5
    assert statuses(campaign) == {Status.SENT: 5}


def test_rows_a_paused_campaign_left_waiting_are_found_by_the_sweeper_after_a_plain_resume(
    topics, campaign, operator_mid_batch, empty_broker_queue, django_capture_on_commit_callbacks
):
    operator_mid_batch(Campaign.Status.PAUSED)
    readers(topics, 4)
    delivery.send_batch(prepared(campaign, django_capture_on_commit_callbacks))
    campaign.refresh_from_db()
    transition(campaign, Campaign.Status.SENDING)  # e.g. by hand, without delivery.resume

    # Nothing of the campaign is being sent and the broker's queue is empty: the rows have no
    # task, and the sweeper does not wait for a quiet lease period to find them.
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.sweep_expired_leases() == 2

    assert len(mail.outbox) == 4 and statuses(campaign) == {Status.SENT: 4}


def test_a_cancel_stops_the_batch_and_skips_the_rest(
    topics, campaign, operator_mid_batch, django_capture_on_commit_callbacks
):
    operator_mid_batch(Campaign.Status.CANCELLED)
    readers(topics, 5)
    ids = prepared(campaign, django_capture_on_commit_callbacks)

    delivery.send_batch(ids)
    delivery.send_batch(ids)

    assert len(mail.outbox) == 2
    assert statuses(campaign) == {Status.SENT: 2, Status.SKIPPED: 3}


# --- failures, over real SMTP --------------------------------------------------------------------


def test_a_refused_recipient_is_bounced_suppressed_and_left_out_next_time(
    topics, campaign, sink, django_capture_on_commit_callbacks
):
    [first, refused, last] = readers(topics, 3)
    sink.handler.refuse[refused.email] = "550 5.1.1 No such mailbox"

    outcome = delivery.send_batch(prepared(campaign, django_capture_on_commit_callbacks))

    assert (outcome.sent, outcome.bounced) == (2, 1)
    assert sorted(r.rcpt_tos[0] for r in sink.received) == sorted([first.email, last.email])
    bounced = Delivery.objects.get(subscriber=refused)
    assert bounced.status == Status.BOUNCED and "550" in bounced.last_error
    refused.refresh_from_db()
    assert refused.status == Subscriber.Status.BOUNCED and refused.suppressed_at is not None

    next_one = CampaignFactory(topics=[topics["news"]], status=Campaign.Status.SENDING)
    prepared(next_one, django_capture_on_commit_callbacks)
    assert refused.pk not in Delivery.objects.filter(campaign=next_one).values_list(
        "subscriber_id", flat=True
    )


def test_a_recipient_s_temporary_failure_is_retried_for_that_row_only(
    topics, campaign, sink, django_capture_on_commit_callbacks
):
    people = readers(topics, 3)
    ids = prepared(campaign, django_capture_on_commit_callbacks)
    sink.handler.refuse[people[0].email] = "451 4.7.1 Greylisted, try again later"

    outcome = delivery.send_batch(ids)

    assert outcome.sent == 2 and outcome.retry_ids == [ids[0]]
    assert outcome.retry_in >= delivery.RETRY_BASE_SECONDS
    row = Delivery.objects.get(pk=ids[0])
    assert (row.status, row.attempts) == (Status.QUEUED, 1) and "451" in row.last_error
    assert row.first_attempt_at is not None and row.lease_expires_at > timezone.now()
    campaign.refresh_from_db()
    assert campaign.relay_down_since is None  # the server itself was fine

    sink.handler.refuse.clear()
    assert delivery.send_batch(outcome.retry_ids).sent == 1
    assert sorted(r.rcpt_tos[0] for r in sink.received) == sorted(p.email for p in people)


def test_a_421_is_the_relay_s_failure_charged_to_no_row_and_shown_on_the_campaign(
    topics, campaign, sink, django_capture_on_commit_callbacks
):
    readers(topics, 3)
    ids = prepared(campaign, django_capture_on_commit_callbacks)
    sink.handler.temporary_failure = "421 4.3.2 Service not available"

    outcome = delivery.send_batch(ids)

    assert outcome.sent == 0 and sorted(outcome.waiting_ids) == ids and not outcome.retry_ids
    rows = Delivery.objects.filter(campaign=campaign)
    assert {(r.status, r.attempts, r.first_attempt_at) for r in rows} == {(Status.QUEUED, 0, None)}
    assert all(r.lease_expires_at > timezone.now() for r in rows)
    campaign.refresh_from_db()
    assert campaign.relay_down_since is not None and "421" in campaign.relay_error
    figures = delivery.progress(campaign)
    assert "421" in figures["waiting_for_mail_server"]

    # Until the next probe is due, a batch does not even connect.
    sink.handler.temporary_failure = None
    again = delivery.send_batch(ids)
    assert (again.sent, sorted(again.waiting_ids)) == (0, ids) and sink.received == []

    cache.set(relay.RETRY_AT_KEY, 0, timeout=None)  # the probe is due
    assert delivery.send_batch(ids).sent == 3
    campaign.refresh_from_db()
    assert (campaign.relay_down_since, campaign.relay_error) == (None, "")
    assert delivery.progress(campaign)["waiting_for_mail_server"] == ""


def test_while_the_relay_is_down_one_batch_probes_and_the_others_wait(
    topics, campaign, sink, django_capture_on_commit_callbacks
):
    readers(topics, 2)
    ids = prepared(campaign, django_capture_on_commit_callbacks)
    sink.handler.temporary_failure = "421 4.3.2 Service not available"
    delivery.send_batch(ids[:1])
    cache.set(relay.RETRY_AT_KEY, 0, timeout=None)

    assert relay.wait_seconds(campaign) == 0  # this batch is the probe
    assert relay.wait_seconds(campaign) >= relay.RELAY_MIN_SECONDS  # any other waits


def test_a_delivery_that_keeps_failing_past_the_retry_horizon_ends_failed_and_can_be_retried(
    topics, campaign, sink, settings, django_capture_on_commit_callbacks
):
    settings.DELIVERY_RETRY_HORIZON = 3600
    [person] = readers(topics, 1)
    ids = prepared(campaign, django_capture_on_commit_callbacks)
    sink.handler.refuse[person.email] = "452 4.2.2 Mailbox full"

    for _ in range(8):  # attempts alone never fail a row
        assert delivery.send_batch(ids).retry_ids == ids
    Delivery.objects.filter(pk=ids[0]).update(
        first_attempt_at=timezone.now() - timedelta(seconds=3601)
    )
    outcome = delivery.send_batch(ids)

    row = Delivery.objects.get(pk=ids[0])
    assert (outcome.failed, row.status, row.attempts) == (1, Status.FAILED, 9)
    assert "Gave up after 1 h of retries: 452" in row.last_error

    sink.handler.refuse.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.retry_delivery(row.pk)
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert [r.rcpt_tos for r in sink.received] == [[person.email]]
    assert not delivery.retry_delivery(row.pk)


def test_a_message_over_smtp_is_well_formed(
    topics, campaign, sink, django_capture_on_commit_callbacks
):
    [person] = readers(topics, 1, first_name="Zoë")
    delivery.send_batch(prepared(campaign, django_capture_on_commit_callbacks))

    [received] = sink.received
    message = received.message
    row = Delivery.objects.get(subscriber=person)
    assert message.get_content_type() == "multipart/alternative"
    assert message["Message-ID"] == row.message_id
    assert message["To"].addresses[0].display_name == "Zoë"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_url = rendering.personalise(
        render_body(campaign, frozenset({"news"})), person
    ).unsubscribe_url
    assert f"<{unsubscribe_url}>" in message["List-Unsubscribe"]
    assert "<mailto:" in message["List-Unsubscribe"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Zoë" in text and "Zoë" in html
    assert unsubscribe_url in text


def test_both_send_paths_produce_the_same_headers_and_parts(topics, sink):
    post = PostFactory(topic=topics["news"], title="Café morning — “bring a friend”")
    campaign = CampaignFactory(
        subject="Autumn news: café mornings, walks & more — ünïcode",
        posts=[post],
        topics=[topics["news"]],
        status=Campaign.Status.SENDING,
    )
    [person] = readers(topics, 1, first_name='Zoë "Z" O\'Brien')
    body = render_body(campaign, frozenset({"news"}))
    personalised = rendering.personalise(body, person)
    message_id = messages.new_message_id()

    django_built = messages.campaign_message(campaign, person, personalised, message_id=message_id)
    ours = messages.MessageBuilder(campaign).as_bytes(person, personalised, message_id)

    # What Django's SMTP backend puts on the wire (CRLF line ends), next to ours.
    on_the_wire = django_built.message(policy=policy.SMTP).as_bytes()
    theirs = message_from_bytes(on_the_wire, policy=policy.default)
    mine = message_from_bytes(ours, policy=policy.default)
    ignored = {"Date", "Content-Type"}  # the moment, and the boundary
    assert sorted(k for k in theirs if k not in ignored) == sorted(
        k for k in mine if k not in ignored
    )
    for key in theirs:
        if key not in ignored:
            assert str(mine[key]) == str(theirs[key]), key
    assert mine.get_content_type() == theirs.get_content_type() == "multipart/alternative"
    for kind in ("plain", "html"):
        assert mine.get_body((kind,)).get_content() == theirs.get_body((kind,)).get_content()


# --- sweep, finish, progress ---------------------------------------------------------------------


def test_the_sweeper_requeues_rows_whose_worker_died_and_leaves_live_ones(
    topics, campaign, django_capture_on_commit_callbacks
):
    readers(topics, 3)
    ids = prepared(campaign, django_capture_on_commit_callbacks)
    now = timezone.now()
    Delivery.objects.filter(pk__in=ids[:2]).update(status=Status.SENDING)
    Delivery.objects.filter(pk=ids[0]).update(lease_expires_at=now - timedelta(seconds=1))
    Delivery.objects.filter(pk__in=ids[1:]).update(lease_expires_at=now + timedelta(minutes=1))

    with django_capture_on_commit_callbacks(execute=True) as queued:
        assert delivery.sweep_expired_leases(now=now) == 1

    assert len(queued) == 1
    assert Delivery.objects.get(pk=ids[0]).status == Status.SENT
    assert Delivery.objects.get(pk=ids[1]).status == Status.SENDING
    assert len(mail.outbox) == 1


def test_rows_queued_a_minute_ago_whose_tasks_vanished_with_the_broker_queue_are_requeued(
    topics, campaign, empty_broker_queue, django_capture_on_commit_callbacks
):
    readers(topics, 3)
    ids = prepared(campaign, django_capture_on_commit_callbacks)  # tasks never reach the broker
    delivery.send_batch(ids[:1])
    assert delivery.sweep_expired_leases() == 0  # just queued: their tasks may be on the way

    # Two minutes later nothing of the campaign is being sent and the queue is empty: not a
    # full quiet lease period (it sent a minute ago), but the tasks are gone.
    queued_at = timezone.now() - timedelta(minutes=2)
    Delivery.objects.filter(pk__in=ids[1:]).update(lease_expires_at=ledger.lease(queued_at))
    Delivery.objects.filter(pk=ids[0]).update(sent_at=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.sweep_expired_leases() == 2

    assert statuses(campaign) == {Status.SENT: 3} and len(mail.outbox) == 3


def test_the_sweeper_finds_an_operator_s_retry_of_a_sent_campaign_whose_task_was_lost(
    topics, campaign, settings, django_capture_on_commit_callbacks
):
    readers(topics, 2)
    ids = prepared(campaign, django_capture_on_commit_callbacks)
    delivery.send_batch(ids)
    Delivery.objects.filter(pk=ids[0]).update(status=Status.FAILED)
    transition(campaign, Campaign.Status.SENT)
    with django_capture_on_commit_callbacks():  # the retry's task is lost
        assert delivery.retry_delivery(ids[0])

    later = timezone.now() + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.sweep_expired_leases(now=later) == 1

    assert Delivery.objects.get(pk=ids[0]).status == Status.SENT and len(mail.outbox) == 3


def test_the_sweeper_queues_a_lost_preparation_again_and_keeps_the_real_start(
    topics, campaign, settings, django_capture_on_commit_callbacks
):
    readers(topics, 1)
    started = campaign.started_at
    later = started + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS + 1)

    with django_capture_on_commit_callbacks() as queued:
        delivery.sweep_expired_leases(now=later)
        delivery.sweep_expired_leases(now=later + timedelta(seconds=10))  # not again so soon
    assert len(queued) == 1

    campaign.refresh_from_db()
    assert campaign.started_at == started and campaign.prepare_requeued_at == later


def test_a_campaign_finishes_with_its_counts_once_nothing_is_left(
    topics, campaign, sink, django_capture_on_commit_callbacks
):
    [_, refused, _] = readers(topics, 3)
    readers(topics, 1, slugs=("education",))
    sink.handler.refuse[refused.email] = "550 5.1.1 No such mailbox"
    unprepared = CampaignFactory(topics=[topics["news"]], status=Campaign.Status.SENDING)
    ids = prepared(campaign, django_capture_on_commit_callbacks)

    Delivery.objects.filter(pk=ids[0]).update(status=Status.SENDING)
    assert delivery.finish_campaigns() == 0  # one row is still being sent
    Delivery.objects.filter(pk=ids[0]).update(status=Status.QUEUED)
    delivery.send_batch(ids)
    assert delivery.finish_campaigns() == 1

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT and campaign.finished_at is not None
    assert (campaign.recipients_count, campaign.sent_count, campaign.bounced_count) == (3, 2, 1)
    unprepared.refresh_from_db()
    assert unprepared.status == Campaign.Status.SENDING


def test_progress_counts_each_status_and_estimates_the_time_left(
    topics, campaign, django_capture_on_commit_callbacks
):
    readers(topics, 4)
    ids = prepared(campaign, django_capture_on_commit_callbacks)
    delivery.send_batch(ids[:3])

    progress = delivery.progress(campaign)

    assert (progress["total"], progress["sent"], progress["queued"]) == (4, 3, 1)
    assert progress["percent"] == 75.0
    assert progress["rate_per_second"] > 0 and progress["eta_seconds"] is not None


# --- the global rate -----------------------------------------------------------------------------


def test_every_worker_draws_on_the_same_budget_kept_in_redis(settings):
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(sendrate.KEY)
    one = sendrate.RateLimiter(20, settings.CELERY_BROKER_URL)
    other = sendrate.RateLimiter(20, settings.CELERY_BROKER_URL)

    assert one.take(100) == one.burst == 2  # a tenth of a second's budget, not a hundred
    assert other._try(1)[0] == 0  # the other worker finds the bucket empty and must wait
    assert other.take(1) == 1  # ... and gets its turn once it refills


def test_no_limit_is_no_limit():
    assert sendrate.RateLimiter(0, None).take(500) == 500


# --- admin ---------------------------------------------------------------------------------------


def test_admin_shows_live_progress_and_its_figures_as_json(
    topics, campaign, admin_client, django_capture_on_commit_callbacks
):
    readers(topics, 4)
    ids = prepared(campaign, django_capture_on_commit_callbacks)
    delivery.send_batch(ids[:3])

    html = progress_admin.progress_html(campaign)
    page = admin_client.get(f"/admin/newsletter/delivery/progress/{campaign.pk}/")
    figures = admin_client.get(f"/admin/newsletter/delivery/progress/{campaign.pk}.json").json()

    # The block names its own fresh copy, which the browser fetches while it is live.
    assert f'data-url="/admin/newsletter/delivery/progress/{campaign.pk}/"' in html
    assert 'data-live="true"' in html
    assert page.status_code == 200
    content = page.content.decode()
    assert content.startswith('<div class="engage-progress-live"') and 'data-live="true"' in content
    assert "3 sent · 1 queued · 0 failed · 0 bounced" in content
    assert (figures["sent"], figures["queued"], figures["percent"]) == (3, 1, 75.0)


def test_a_sent_campaign_shows_its_stored_counts_without_reading_the_ledger(
    topics, django_assert_num_queries
):
    finished = CampaignFactory(
        topics=[topics["news"]],
        status=Campaign.Status.SENT,
        recipients_count=10,
        sent_count=8,
        failed_count=1,
        bounced_count=1,
    )
    with django_assert_num_queries(0):
        html = progress_admin.progress_html(finished)
    assert "8 sent · 0 queued · 1 failed · 1 bounced" in html


def test_progress_is_for_staff_only(campaign, client):
    response = client.get(f"/admin/newsletter/delivery/progress/{campaign.pk}.json")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_operator_retries_failed_deliveries_from_the_ledger(
    topics, campaign, admin_client, django_capture_on_commit_callbacks
):
    [failing, sent] = readers(topics, 2)
    ids = prepared(campaign, django_capture_on_commit_callbacks)
    Delivery.objects.filter(subscriber=failing).update(status=Status.FAILED, last_error="421 busy")
    Delivery.objects.filter(subscriber=sent).update(status=Status.SENT)

    listing = admin_client.get("/admin/newsletter/delivery/?status__exact=failed")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/newsletter/delivery/",
            {"action": "retry", "_selected_action": ids},
            follow=True,
        )

    assert listing.status_code == 200 and "421 busy" in listing.content.decode()
    assert "1 deliveries queued again." in response.content.decode()
    assert statuses(campaign) == {Status.SENT: 2}
    assert [m.to[0] for m in mail.outbox] == [
        messages.display_address(failing.first_name, failing.email)
    ]


# --- continuations, render errors ----------------------------------------------------------------


class SlowFlakyBackend(LocmemBackend):
    """Locmem, but its first message fails transiently (the recipient's), after a while."""

    def send_messages(self, messages):
        from anymail.exceptions import AnymailError

        time.sleep(0.05)
        if not getattr(SlowFlakyBackend, "failed_once", False):
            SlowFlakyBackend.failed_once = True
            raise AnymailError("Temporarily unavailable for this recipient")
        return super().send_messages(messages)


@pytest.fixture
def budget_runs_out_after_one_message(settings, monkeypatch):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.SlowFlakyBackend"}}
    monkeypatch.setattr(SlowFlakyBackend, "failed_once", False, raising=False)
    monkeypatch.setattr(batch, "STATUS_CHECK_SECONDS", 0)
    monkeypatch.setattr(batch, "BATCH_TIME_BUDGET_SECONDS", 0.03)


def queued_tasks(callbacks) -> list[tuple[list[int], float]]:
    """(delivery ids, countdown) of each send_batch task queued on commit."""
    return [
        (cb.keywords["args"][0], cb.keywords["countdown"])
        for cb in callbacks
        if getattr(cb, "keywords", None) and "countdown" in cb.keywords
    ]


def test_when_the_time_budget_runs_out_a_row_that_just_failed_keeps_its_retry(
    topics, campaign, budget_runs_out_after_one_message, django_capture_on_commit_callbacks
):
    readers(topics, 3)
    ids = prepared(campaign, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks() as callbacks:
        outcome = delivery.send_batch(ids)

    assert (outcome.retry_ids, outcome.continue_ids) == ([ids[0]], ids[1:])
    tasks = dict((tuple(chunk), countdown) for chunk, countdown in queued_tasks(callbacks))
    assert tasks[(ids[0],)] >= delivery.RETRY_BASE_SECONDS  # the failed row: after its backoff
    assert tasks[tuple(ids[1:])] == 0  # the untried ones do not inherit its delay
    rows = Delivery.objects.filter(pk__in=ids)
    assert {r.status for r in rows} == {Status.QUEUED}
    assert all(r.lease_expires_at > timezone.now() for r in rows)


def test_a_continuation_is_a_fresh_task_so_a_database_blip_after_it_still_retries_in_a_second(
    topics, campaign, budget_runs_out_after_one_message, django_capture_on_commit_callbacks
):
    from newsletter import tasks

    readers(topics, 3)
    ids = prepared(campaign, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks() as callbacks:
        result = tasks.send_batch.apply(args=[ids])

    assert result.successful()  # not a Celery retry of this task
    assert sorted(i for chunk, _ in queued_tasks(callbacks) for i in chunk) == ids


def test_a_campaign_that_cannot_render_is_paused_with_the_error_shown(
    topics, campaign, admin_client, django_capture_on_commit_callbacks
):
    readers(topics, 3)
    ids = prepared(campaign, django_capture_on_commit_callbacks)
    Campaign.objects.filter(pk=campaign.pk).update(slug="")  # its archive link cannot be made

    outcome = delivery.send_batch(ids)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED and "NoReverseMatch" in outcome.halted
    assert "could not be rendered: NoReverseMatch" in campaign.pause_reason
    assert statuses(campaign) == {Status.QUEUED: 3} and mail.outbox == []
    assert "NoReverseMatch" in delivery.progress(campaign)["pause_reason"]
    page = admin_client.get(f"/admin/newsletter/campaign/{campaign.pk}/change/").content.decode()
    assert "Paused: The campaign could not be rendered: NoReverseMatch" in page
    assert delivery.send_batch(ids).sent == 0  # a paused campaign sends nothing more

    Campaign.objects.filter(pk=campaign.pk).update(slug="fixed")
    campaign.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        delivery.campaign_resume(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.pause_reason == "" and len(mail.outbox) == 3


def test_retries_of_a_recipient_are_at_most_ten_minutes_apart_for_24_hours_by_default(settings):
    assert settings.DELIVERY_RETRY_HORIZON == 24 * 3600
    assert all(delivery.retry_delay(attempts) <= 600 + 5 for attempts in range(1, 40))
    assert delivery.retry_delay(30) >= 600


def test_a_relay_that_accepts_the_connection_but_never_answers_is_the_relay_s_failure(
    topics, campaign, settings, django_capture_on_commit_callbacks
):
    readers(topics, 2)
    ids = prepared(campaign, django_capture_on_commit_callbacks)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": silent.getsockname()[1], "timeout": 1},
            }
        }
        outcome = delivery.send_batch(ids)

    assert sorted(outcome.waiting_ids) == ids and outcome.failed == 0
    campaign.refresh_from_db()
    assert "timed out" in campaign.relay_error
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {0}


def test_a_relay_whose_tls_fails_is_the_relay_s_failure(
    topics, campaign, sink, settings, django_capture_on_commit_callbacks
):
    readers(topics, 2)
    ids = prepared(campaign, django_capture_on_commit_callbacks)
    settings.MAILERS["default"]["OPTIONS"]["use_tls"] = True  # the sink offers no STARTTLS

    outcome = delivery.send_batch(ids)

    assert sorted(outcome.waiting_ids) == ids and sink.received == []
    campaign.refresh_from_db()
    assert "STARTTLS" in campaign.relay_error
    assert "Waiting for the mail server since" in delivery.waiting_note(campaign)
