"""Sending through an ESP at its speed: batch calls with each recipient's own data, concurrent
calls where there is no batch, each recipient's result on their own row, the ESP's limits.

The Postmark tests talk real HTTP on loopback to bench/esp_standin.py, anymail pointed at it
through POSTMARK_API_URL. SendGrid, Mailgun and SES cannot be pointed at the stand-in (their
answers differ), so for them the test captures the request anymail makes at the transport.
"""

import collections
import json
import re
from datetime import timedelta
from email import message_from_bytes, policy
from urllib.parse import parse_qs

import pytest
import requests
from django.core.mail import mailers
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.esp_standin import EspStandin, Fault
from newsletter import delivery, tasks
from newsletter.campaigns.snapshot import render_body
from newsletter.delivery import batch as batch_module
from newsletter.delivery.senders import esp as esp_sender
from newsletter.mail import rendering, sendrate
from newsletter.mail.messages import new_message_id
from newsletter.models import Campaign, Delivery, Subscriber
from newsletter.subscribers import tokens
from tests import ledger
from tests.campaign_runs import audience, due_campaign, tick_until_sent
from tests.factories import event_taking_rsvps
from tests.support import wait_until

pytestmark = pytest.mark.django_db

UNSUBSCRIBE_PATH = re.compile(r"/unsubscribe/([^/\s\"<>]+)/")
PREFERENCES_PATH = re.compile(r"/preferences/([^/\s\"<>]+)/")


@pytest.fixture(scope="module")
def running_standin():
    standin = EspStandin(latency=0.0).start()
    yield standin
    standin.stop()


@pytest.fixture
def standin(running_standin, settings, monkeypatch):
    """The stand-in, emptied, and anymail's Postmark backend (Engage's) pointed at it."""
    # A call an earlier test gave up on (a timeout) may still be being answered.
    wait_until(lambda: running_standin.in_flight == 0, 10, message="the stand-in to be idle")
    running_standin.reset()
    settings.MAILERS = {"default": {"BACKEND": "newsletter.mail.esp_backends.EmailBackend"}}
    settings.ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": "test-token",
        "POSTMARK_API_URL": running_standin.url,
        "REQUESTS_TIMEOUT": 1,
    }
    settings.SEND_RATE_PER_SECOND = 0
    # Pauses live in the broker's Redis; this test session's own key.
    monkeypatch.setattr(sendrate, "PAUSE_KEY", f"engage:test:paused:{id(running_standin)}")
    yield running_standin
    _clear_pause()
    running_standin.reset()


def _clear_pause():
    url = sendrate._redis_url()
    if url:
        sendrate._client(url).delete(sendrate.PAUSE_KEY)
    sendrate._paused_until = 0.0


def readers(topic, count, **fields):
    return [
        ledger.subscriber(f"reader{n}-{id(topic)}@example.org", first_name=f"Reader{n}", **fields)
        for n in range(count)
    ]


def outgoing(campaign, subscribers, *, tracked=False):
    body = render_body(
        campaign, frozenset(campaign.topics.values_list("slug", flat=True)), tracked=tracked
    )
    items = []
    for subscriber in subscribers:
        row = Delivery.objects.create(
            campaign=campaign, subscriber=subscriber, status=Delivery.Status.SENDING
        )
        items.append(
            esp_sender.Outgoing(
                delivery_id=row.pk,
                subscriber=subscriber,
                body=body,
                tracked=tracked,
                message_id=new_message_id(),
            )
        )
    return items


@pytest.fixture
def campaign(topics):
    news = topics["news"]
    # An event taking RSVPs: each reader's section carries their own "I'll be there" links.
    posts = [ledger.post(news, title="Walk for research"), event_taking_rsvps(news)]
    return ledger.campaign(news, posts=posts, status="sending")


def send(campaign, items, **kwargs):
    sender = esp_sender.EspSender(campaign, **kwargs)
    try:
        return sender.send_many(items)
    finally:
        sender.close()


# --- Postmark: batch calls on real HTTP ------------------------------------------------------


def test_a_postmark_batch_is_one_call_and_every_recipient_gets_their_own_links_and_headers(
    standin, campaign, topics
):
    subscribers = readers(topics["news"], 7)
    items = outgoing(campaign, subscribers, tracked=True)

    outcomes = send(campaign, items)

    assert dict(standin.calls) == {"email/batch": 1}
    assert len(standin.accepted) == 7
    for item in items:
        subscriber = item.subscriber
        (message,) = standin.received_by(subscriber.email)
        own_unsubscribe = tokens.unsubscribe_url(subscriber.pk)
        own_preferences = tokens.preferences_url(subscriber.pk)
        assert message.to == f"{subscriber.first_name} <{subscriber.email}>"
        assert message.headers["List-Unsubscribe"].startswith(f"<{own_unsubscribe}>, <mailto:")
        assert message.headers["Message-ID"] == item.message_id
        assert message.metadata == {"delivery": str(item.delivery_id)}
        for part in (message.html, message.text):
            assert {m for m in UNSUBSCRIBE_PATH.findall(part)} == {
                UNSUBSCRIBE_PATH.search(own_unsubscribe).group(1)
            }
            assert {m for m in PREFERENCES_PATH.findall(part)} == {
                PREFERENCES_PATH.search(own_preferences).group(1)
            }
            assert subscriber.first_name in part
            assert "%%" not in part
            others = [s for s in subscribers if s != subscriber]
            assert not any(
                other.first_name + " " in part or other.email in part for other in others
            )
        assert "/rsvp/" in message.html and "/rsvp/" in message.text
        # The body is exactly what personalise makes for this reader, tracking token, RSVP
        # links and all.
        own = rendering.personalise(item.body, subscriber, delivery_id=item.delivery_id)
        assert message.html == own.html
        assert message.text.strip() == own.text.strip()
        assert outcomes[item.delivery_id] == esp_sender.Outcome(
            "sent", message_id=message.message_id
        )


def test_recipients_beyond_postmarks_500_go_in_a_second_call(standin, campaign, topics):
    items = outgoing(campaign, readers(topics["news"], 501))

    outcomes = send(campaign, items)

    assert standin.calls["email/batch"] == 1 and standin.calls["email"] == 1
    assert standin.recipients == 501
    assert {o.status for o in outcomes.values()} == {"sent"}


def test_a_partly_failed_batch_settles_each_recipient_on_their_own(standin, campaign, topics):
    subscribers = readers(topics["news"], 5)
    standin.refuse[subscribers[1].email] = 406  # inactive at Postmark: a hard bounce
    standin.refuse[subscribers[3].email] = 701  # an error for this one message only
    items = outgoing(campaign, subscribers)

    outcomes = send(campaign, items)

    statuses = [outcomes[item.delivery_id].status for item in items]
    assert statuses == ["sent", "bounced", "sent", "retry", "sent"]
    for item in (items[0], items[2], items[4]):
        (message,) = standin.received_by(item.subscriber.email)
        assert outcomes[item.delivery_id].message_id == message.message_id
    assert len(standin.accepted) == 3


def test_a_429_pauses_every_worker_for_retry_after_and_nothing_is_sent_meanwhile(
    standin, campaign, topics
):
    standin.script.append(Fault(status=429, retry_after=30))
    items = outgoing(campaign, readers(topics["news"], 3))

    outcomes = send(campaign, items)

    assert {o.status for o in outcomes.values()} == {"throttled"}
    assert {o.retry_after for o in outcomes.values()} == {30}
    # The pause is in Redis, where every worker's sender looks before each call.
    assert 25 < sendrate.paused_for() <= 30
    again = send(campaign, outgoing(campaign, readers(topics["events"], 2)))
    assert {o.status for o in again.values()} == {"throttled"}
    assert standin.recipients == 0 and sum(standin.calls.values()) == 1


def test_after_a_429_the_batchs_rows_wait_for_retry_after_in_the_ledger(standin, topics):
    people = audience(topics, 5)
    campaign = due_campaign(topics)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    delivery.prepare(campaign.pk)
    ids = list(Delivery.objects.filter(campaign=campaign).values_list("pk", flat=True))
    standin.script.append(Fault(status=429, retry_after=120))

    outcome = delivery.send_batch(ids)

    # Throttling is the ESP's signal about the whole send: nobody is charged an attempt.
    assert (outcome.sent, len(outcome.waiting_ids), outcome.retry_ids) == (0, len(people), [])
    earliest = timezone.now() + timedelta(seconds=120)
    for row in Delivery.objects.filter(pk__in=ids):
        assert row.status == Delivery.Status.QUEUED and row.attempts == 0
        assert row.lease_expires_at >= earliest  # the sweeper leaves it alone until then
    campaign.refresh_from_db()
    assert "429" in campaign.relay_error
    assert standin.recipients == 0


def _rows_of_a_new_campaign(topics, count: int) -> list[int]:
    people = audience(topics, count)
    # Readers of each access choice: their batches differ around the merge fields.
    for n, name in enumerate(("plain_text_only", "larger_text", "no_images")):
        Subscriber.objects.filter(pk__in=[p.pk for p in people[n::4]]).update(**{name: True})
    campaign = due_campaign(topics)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    delivery.prepare(campaign.pk)
    return list(Delivery.objects.filter(campaign=campaign).values_list("pk", flat=True))


def test_a_batchs_queries_do_not_grow_with_its_readers(standin, topics, monkeypatch):
    # No status check mid-batch: its query would come whenever the clock says.
    monkeypatch.setattr(batch_module, "STATUS_CHECK_SECONDS", 3600)
    # The second campaign goes to the first one's 4 readers too: 44.
    small, large = _rows_of_a_new_campaign(topics, 4), _rows_of_a_new_campaign(topics, 40)

    with CaptureQueriesContext(connection) as few:
        assert delivery.send_batch(small).sent == 4
    with CaptureQueriesContext(connection) as many:
        assert delivery.send_batch(large).sent == 44

    assert len(many.captured_queries) == len(few.captured_queries)
    assert standin.recipients == 48


def test_a_5xx_is_retried_and_not_held_against_the_recipient(standin, campaign, topics):
    standin.script.append(Fault(status=503))
    items = outgoing(campaign, readers(topics["news"], 3))

    outcomes = send(campaign, items)

    assert {o.status for o in outcomes.values()} == {"retry"}
    assert all("503" in o.error for o in outcomes.values())
    assert sendrate.paused_for() == 0


def test_a_timed_out_batch_is_retried_so_its_recipients_get_it_at_most_twice(
    standin, campaign, topics
):
    """The ESP accepted the call but answered after the client gave up (1 s here)."""
    subscribers = readers(topics["news"], 4)
    standin.script.append(Fault(delay=1.5))
    items = outgoing(campaign, subscribers)

    first = send(campaign, items)
    assert {o.status for o in first.values()} == {"retry"}
    second = send(campaign, items)  # the ledger hands the same rows to the next try
    assert {o.status for o in second.values()} == {"sent"}

    for subscriber in subscribers:
        assert len(standin.received_by(subscriber.email)) == 2  # one batch duplicated, no more


def test_without_batch_calls_each_message_is_its_own_call_over_a_few_connections(
    standin, campaign, topics
):
    standin.latency = 0.2  # long enough for calls to overlap
    items = outgoing(campaign, readers(topics["news"], 9))

    try:
        outcomes = send(campaign, items, batch=False, concurrency=3)
    finally:
        standin.latency = 0.0

    assert dict(standin.calls) == {"email": 9}
    assert standin.most_in_flight == 3  # ESP_CONCURRENCY calls at once, never more
    assert {o.status for o in outcomes.values()} == {"sent"}
    for item in items:
        (message,) = standin.received_by(item.subscriber.email)
        assert tokens.unsubscribe_url(item.subscriber.pk) in message.headers["List-Unsubscribe"]


def test_anymails_own_postmark_backend_falls_back_to_concurrent_calls(
    standin, campaign, topics, settings
):
    settings.MAILERS = {"default": {"BACKEND": "anymail.backends.postmark.EmailBackend"}}
    items = outgoing(campaign, readers(topics["news"], 3))

    outcomes = send(campaign, items)

    assert dict(standin.calls) == {"email": 3}
    assert {o.status for o in outcomes.values()} == {"sent"}


# --- The other ESPs: the request anymail builds -------------------------------------------------


class Captured(Exception):
    pass


@pytest.fixture
def capture(monkeypatch):
    """The requests anymail makes, stopped at the transport with a canned success."""
    calls = []

    def send(self, request, **kwargs):
        calls.append(request)
        response = requests.Response()
        response.status_code = 200
        response.request = request
        response._content = b'{"id": "<mg-1@example.org>", "message": "Queued"}'
        response.headers["Content-Type"] = "application/json"
        return response

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    return calls


def _recipient_body(template: str, values: dict, field: str) -> str:
    for name, value in values.items():
        template = template.replace(field.format(name), value)
    return template


def test_sendgrid_gets_one_call_with_a_personalization_per_recipient(
    capture, campaign, topics, settings
):
    settings.MAILERS = {"default": {"BACKEND": "anymail.backends.sendgrid.EmailBackend"}}
    settings.ANYMAIL = {"SENDGRID_API_KEY": "key"}
    subscribers = readers(topics["news"], 3)
    items = outgoing(campaign, subscribers)

    outcomes = send(campaign, items)

    (request,) = capture
    payload = json.loads(request.body)
    assert len(payload["personalizations"]) == 3
    html = next(c["value"] for c in payload["content"] if c["type"] == "text/html")
    for item, personalization in zip(items, payload["personalizations"], strict=True):
        subscriber = item.subscriber
        assert personalization["to"] == [{"email": subscriber.email, "name": subscriber.first_name}]
        assert personalization["headers"]["List-Unsubscribe"].startswith(
            f"<{tokens.unsubscribe_url(subscriber.pk)}>"
        )
        assert personalization["custom_args"]["delivery"] == str(item.delivery_id)
        own = _recipient_body(html, personalization["substitutions"], "{}")
        assert own == rendering.personalise(item.body, subscriber).html
    assert {o.status for o in outcomes.values()} == {"sent"}


def test_mailgun_gets_one_call_with_recipient_variables(capture, campaign, topics, settings):
    settings.MAILERS = {"default": {"BACKEND": "anymail.backends.mailgun.EmailBackend"}}
    settings.ANYMAIL = {"MAILGUN_API_KEY": "key", "MAILGUN_SENDER_DOMAIN": "example.org"}
    subscribers = readers(topics["news"], 3)
    items = outgoing(campaign, subscribers)

    outcomes = send(campaign, items)

    (request,) = capture
    form = parse_qs(request.body)  # no attachments: a plain form
    assert sorted(form["to"]) == sorted(f"{s.first_name} <{s.email}>" for s in subscribers)
    variables = json.loads(form["recipient-variables"][0])
    html = form["html"][0]
    assert form["h:List-Unsubscribe"] == ["%recipient.h:List-Unsubscribe%"]
    for item in items:
        subscriber = item.subscriber
        mine = variables[subscriber.email]
        assert mine["h:List-Unsubscribe"].startswith(f"<{tokens.unsubscribe_url(subscriber.pk)}>")
        own = _recipient_body(html, mine, "%recipient.{}%")
        assert own == rendering.personalise(item.body, subscriber).html
    assert {o.status for o in outcomes.values()} == {"sent"}


def test_amazon_ses_personalises_only_stored_templates_so_each_message_is_its_own_call(
    campaign, topics, settings, monkeypatch
):
    from botocore.client import BaseClient

    settings.MAILERS = {"default": {"BACKEND": "anymail.backends.amazon_ses.EmailBackend"}}
    settings.ANYMAIL = {
        "AMAZON_SES_CLIENT_PARAMS": {
            "region_name": "eu-west-1",
            "aws_access_key_id": "test",
            "aws_secret_access_key": "test",
        }
    }
    calls = []

    def make_api_call(self, operation, params):
        calls.append((operation, params))
        return {"MessageId": f"ses-{len(calls)}"}

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    subscribers = readers(topics["news"], 3)
    items = outgoing(campaign, subscribers)

    outcomes = send(campaign, items)

    assert esp_sender.profile_for(mailers.default).batch_size == 0
    assert [operation for operation, _ in calls] == ["SendEmail"] * 3
    by_recipient = {}
    for _, params in calls:
        raw = message_from_bytes(params["Content"]["Raw"]["Data"], policy=policy.default)
        by_recipient[params["Destination"]["ToAddresses"][0]] = raw
    for item in items:
        subscriber = item.subscriber
        raw = by_recipient[subscriber.email]
        assert raw["To"] == f"{subscriber.first_name} <{subscriber.email}>"
        assert raw["List-Unsubscribe"].startswith(f"<{tokens.unsubscribe_url(subscriber.pk)}>")
    assert sorted(o.message_id for o in outcomes.values()) == ["ses-1", "ses-2", "ses-3"]


# --- Real workers ------------------------------------------------------------------------------

LEASE_SECONDS = 10
BATCH = 50


def esp_worker_env(standin) -> dict:
    return {
        "ESP": "postmark",
        "ANYMAIL_POSTMARK_SERVER_TOKEN": "test-token",
        "ANYMAIL_POSTMARK_API_URL": standin.url,
        "ANYMAIL_REQUESTS_TIMEOUT": "60",
        "DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS),
        "SEND_BATCH_SIZE": str(BATCH),
    }


@pytest.fixture
def worker_standin(running_standin, settings):
    running_standin.reset()
    settings.DELIVERY_LEASE_SECONDS = LEASE_SECONDS
    settings.SEND_BATCH_SIZE = BATCH
    yield running_standin
    running_standin.reset()


def received_counts(standin) -> collections.Counter:
    return collections.Counter(_addr(m.to) for m in standin.accepted)


def _addr(to: str) -> str:
    return to.rpartition("<")[2].rstrip(">")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_campaign_through_the_esp_goes_in_batch_calls_once_to_each_reader(
    topics, worker_standin, start_worker
):
    start_worker(extra_env=esp_worker_env(worker_standin))
    people = audience(topics, 300)
    campaign = due_campaign(topics)

    tick_until_sent(campaign)

    assert received_counts(worker_standin) == {person.email: 1 for person in people}
    assert worker_standin.calls == {"email/batch": 300 // BATCH}
    ids = {m.to: m.message_id for m in worker_standin.accepted}
    for row in Delivery.objects.filter(campaign=campaign).select_related("subscriber"):
        assert row.status == Delivery.Status.SENT
        to = f"{row.subscriber.first_name} <{row.subscriber.email}>"
        assert row.message_id == ids[to]  # the ESP's id, which its webhooks name
    assert campaign.sent_count == 300


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_call_loses_nothing_and_repeats_at_most_that_one_batch(
    topics, worker_standin, start_worker
):
    # The third call is accepted by the ESP and then answered only after the worker is dead.
    worker_standin.script.extend([Fault(), Fault(), Fault(delay=30)])
    doomed = start_worker(extra_env=esp_worker_env(worker_standin), concurrency=1)
    people = audience(topics, 300)
    campaign = due_campaign(topics)
    tasks.tick()

    try:
        wait_until(lambda: sum(worker_standin.calls.values()) >= 3, 60, message="the third call")
    except AssertionError:
        print(doomed.output()[-5000:], worker_standin.calls)
        raise
    doomed.kill()
    start_worker(extra_env=esp_worker_env(worker_standin))
    tick_until_sent(campaign)

    received = received_counts(worker_standin)
    assert set(received) == {person.email for person in people}
    duplicated = [address for address, count in received.items() if count > 1]
    assert len(duplicated) == BATCH  # the batch of the call in flight, and no other
    assert max(received.values()) == 2
    assert campaign.sent_count == 300
