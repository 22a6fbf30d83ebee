"""Mail that comes back, through the one entry point: classified, recorded once, acted on."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from newsletter import tasks
from newsletter.inbound.receive import receive
from newsletter.mail import verp
from newsletter.models import Delivery, InboundMessage, Subscriber
from tests import ledger
from tests.inbound_mail import BOUNCE_ADDRESS, corpus, corpus_names

pytestmark = pytest.mark.django_db
Kind = InboundMessage.Kind
EFFECT = {
    "hard_bounce": Subscriber.Status.BOUNCED,
    "complaint": Subscriber.Status.COMPLAINED,
    "unsubscribe": Subscriber.Status.UNSUBSCRIBED,
    "soft_bounce": Subscriber.Status.ACTIVE,
    "auto_reply": Subscriber.Status.ACTIVE,
    "other": Subscriber.Status.ACTIVE,
}


@pytest.fixture(autouse=True)
def _verp(settings):
    settings.BOUNCE_ADDRESS = BOUNCE_ADDRESS


@pytest.fixture
def campaign(topics):
    return ledger.campaign(topics["news"])


@pytest.fixture
def sent(campaign):
    """ann's message of the campaign, and a bystander's."""
    ledger.delivery(campaign, ledger.subscriber("bystander@example.org"))
    return ledger.delivery(campaign, ledger.subscriber("ann@example.org"))


def _statuses():
    return dict(Subscriber.objects.values_list("email", "status"))


@pytest.mark.parametrize("name", corpus_names())
def test_each_corpus_message_is_classified_and_acts_on_the_subscriber_it_names(name, sent):
    kind = name.split("--")[0]

    row = receive(corpus(name, sent), source="test").row

    assert row.kind == kind, row.reason
    if kind in ("hard_bounce", "soft_bounce", "complaint", "unsubscribe"):
        assert row.subscriber == sent.subscriber and row.delivery == sent
    assert _statuses() == {"ann@example.org": EFFECT[kind], "bystander@example.org": "active"}


REPORTS = [
    name
    for name in corpus_names()
    if name.split("--")[0] in ("hard_bounce", "soft_bounce", "complaint")
]


@pytest.mark.parametrize("name", REPORTS)
def test_a_report_that_lost_its_verp_token_is_matched_by_the_returned_message_id(name, sent):
    row = receive(corpus(name, sent, to=BOUNCE_ADDRESS), source="test").row

    assert row.delivery == sent and row.subscriber == sent.subscriber, row.reason
    assert _statuses()["bystander@example.org"] == "active"


def test_a_hard_bounce_marks_the_delivery_bounced(sent):
    receive(corpus("hard_bounce--postfix.txt", sent), source="test")

    sent.refresh_from_db()
    assert sent.status == Delivery.Status.BOUNCED


def test_a_complaint_records_when_on_the_delivery(sent):
    receive(corpus("complaint--yahoo.txt", sent), source="test")

    sent.refresh_from_db()
    assert sent.complained_at is not None


def test_a_replay_is_recorded_once_and_changes_nothing(sent):
    raw = corpus("soft_bounce--postfix-delayed.txt", sent)
    first = receive(raw, source="imap")
    again = receive(raw, source="pipe")

    assert first.created and not again.created
    assert InboundMessage.objects.count() == 1
    assert Subscriber.objects.get(email="ann@example.org").soft_bounces == 1


def test_the_same_message_relayed_again_with_new_trace_headers_is_recorded_once(sent):
    raw = corpus("hard_bounce--postfix.txt", sent)
    relayed = b"Received: from relay2.example.net by mx.example.org; Tue, 1 Dec 2026\r\n" + raw

    assert receive(raw, source="imap").created
    assert not receive(relayed, source="pipe").created
    assert InboundMessage.objects.count() == 1


def test_soft_bounces_of_soft_bounce_limit_campaigns_suppress(settings, topics):
    settings.SOFT_BOUNCE_LIMIT = 3
    ann = ledger.subscriber("ann@example.org")
    for n in range(3):
        delivery = ledger.delivery(ledger.campaign(topics["news"]), ann)
        raw = corpus("soft_bounce--postfix-delayed.txt", delivery)
        raw = raw.replace(b"<20261201142000.7C8D9E0F11@", f"<{n}.dsn@".encode())  # three reports
        receive(raw, source="test")
        ann.refresh_from_db()
        assert ann.soft_bounces == n + 1
    assert ann.status == Subscriber.Status.BOUNCED


def test_an_unsubscribe_request_is_never_undone_by_a_later_soft_bounce(settings, sent):
    settings.SOFT_BOUNCE_LIMIT = 1
    receive(corpus("unsubscribe--mailto.txt", sent), source="test")
    receive(corpus("soft_bounce--postfix-delayed.txt", sent), source="test")

    assert _statuses()["ann@example.org"] == Subscriber.Status.UNSUBSCRIBED


def test_a_plain_mailto_unsubscribe_without_verp_unsubscribes_its_sender_our_server_vouches_for(
    settings, sent
):
    settings.BOUNCE_ADDRESS = ""
    settings.INBOUND_AUTHSERV_ID = "mx.engage.example.org"
    raw = corpus("unsubscribe--mailto.txt", sent, to="unsubscribe@engage.example.org")
    raw = (
        b"Authentication-Results: mx.engage.example.org; spf=pass smtp.mailfrom=example.org;"
        b" dmarc=pass header.from=example.org\r\n" + raw
    )

    row = receive(raw, source="test").row

    assert row.kind == Kind.UNSUBSCRIBE and row.subscriber == sent.subscriber
    assert _statuses() == {"ann@example.org": "unsubscribed", "bystander@example.org": "active"}


# --- VERP tokens -----------------------------------------------------------------------------


def test_a_verp_token_names_its_delivery_and_survives_case_folding():
    token = verp.make_token(verp.BOUNCE, 12345)

    assert verp.read_token(verp.BOUNCE, token.upper()) == 12345
    assert len(verp.address(BOUNCE_ADDRESS, token).split("@")[0]) <= 64


def test_a_bounce_token_does_not_unsubscribe_and_an_unsubscribe_token_does_not_bounce():
    with pytest.raises(verp.BadToken):
        verp.read_token(verp.UNSUBSCRIBE, verp.make_token(verp.BOUNCE, 7))
    with pytest.raises(verp.BadToken):
        verp.read_token(verp.BOUNCE, verp.make_token(verp.UNSUBSCRIBE, 7))


def test_an_unsubscribe_token_never_expires(settings):
    with time_machine.travel(timezone.now() - timedelta(days=10 * 365)):
        old = verp.make_token(verp.UNSUBSCRIBE, 7)

    assert verp.read_token(verp.UNSUBSCRIBE, old) == 7


def test_without_bounce_address_there_is_no_verp(settings):
    settings.BOUNCE_ADDRESS = ""

    assert verp.bounce_address(7) is None
    assert verp.unsubscribe_address(7) == settings.UNSUBSCRIBE_MAILTO


# --- Bad input: recorded as unmatched or rejected, with a reason; no one else changes ----------


def _assert_nobody_changed():
    assert set(_statuses().values()) == {"active"}
    assert not Delivery.objects.exclude(status=Delivery.Status.SENT).exists()


def test_a_forged_verp_token_names_no_one(sent):
    token = verp.make_token(verp.BOUNCE, sent.pk)
    forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
    raw = corpus("hard_bounce--postfix.txt", sent, to=verp.address(BOUNCE_ADDRESS, forged))

    row = receive(raw, source="test").row

    assert row.kind == Kind.HARD_BOUNCE and row.subscriber is None
    assert "VERP token refused: bad signature" in row.reason
    _assert_nobody_changed()


def test_an_expired_verp_token_names_no_one(settings, sent):
    with time_machine.travel(
        timezone.now() - timedelta(days=settings.BOUNCE_TOKEN_MAX_AGE_DAYS + 2)
    ):
        old = verp.address(BOUNCE_ADDRESS, verp.make_token(verp.BOUNCE, sent.pk))
    row = receive(corpus("hard_bounce--gmail.txt", sent, to=old), source="test").row

    assert row.subscriber is None and "VERP token refused: expired" in row.reason
    _assert_nobody_changed()


def test_a_dsn_for_another_lists_message_names_no_one(sent):
    raw = corpus("hard_bounce--postfix.txt", sent, to=BOUNCE_ADDRESS, message_id="x@other.example")

    row = receive(raw, source="test").row

    assert row.subscriber is None and "not one of ours" in row.reason
    _assert_nobody_changed()


def test_an_arf_report_without_the_original_names_no_one(sent):
    raw = corpus("complaint--outlook-jmrp.txt", sent, to=BOUNCE_ADDRESS)
    raw = raw.split(b"----boundary_4711_jmrp\r\nContent-Type: message/rfc822")[0]
    raw += b"----boundary_4711_jmrp--\r\n"

    row = receive(raw, source="test").row

    assert row.kind == Kind.COMPLAINT and row.subscriber is None
    assert "no returned message" in row.reason
    _assert_nobody_changed()


def test_a_looping_auto_reply_to_the_unsubscribe_address_is_ignored(sent):
    raw = corpus("auto_reply--rfc3834.txt", sent, to=verp.unsubscribe_address(sent.pk))

    row = receive(raw, source="test").row

    assert row.kind == Kind.AUTO_REPLY
    _assert_nobody_changed()


def test_a_message_over_the_size_limit_is_rejected_with_its_start_kept(settings, sent):
    settings.INBOUND_MAX_BYTES = 10 * 1024 * 1024
    raw = corpus("hard_bounce--postfix.txt", sent) + b"A" * (20 * 1024 * 1024)

    row = receive(raw, source="test").row

    assert row.kind == Kind.REJECTED and "too large" in row.reason
    assert row.size == len(raw) and len(bytes(row.raw)) == 64 * 1024
    _assert_nobody_changed()


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\x01\x02 not a message at all",
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\nStatus: 5.1.1\r\n",
        b"From: \xff\xfe Caf\xe9 <x@example.org>\r\nSubject: \xe9t\xe9 \x80\r\n"
        b"To: bounces@news.engage.example.org\r\n\r\n\xff body",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\nbroken",
        b"Message-ID: <a\x00b@example.net>\r\nSubject: Out of office\x00\r\n"
        b"Auto-Submitted: auto-replied\x00\r\nTo: bounces+\x00@news.engage.example.org\r\n\r\nx",
    ],
    ids=["binary", "dsn-truncated", "non-utf8-headers", "malformed-mime", "nul-bytes"],
)
def test_bad_input_is_recorded_with_a_reason_and_changes_no_one(raw, sent):
    row = receive(raw, source="test").row

    assert InboundMessage.objects.filter(pk=row.pk).exists()
    assert row.reason
    assert row.subscriber is None
    _assert_nobody_changed()


def test_an_auto_reply_names_no_one_and_changes_nothing(sent):
    row = receive(corpus("auto_reply--outlook.txt", sent), source="test").row

    assert row.kind == Kind.AUTO_REPLY and row.subscriber is None
    _assert_nobody_changed()


# --- Retention -------------------------------------------------------------------------------


def test_raw_messages_are_forgotten_after_retention_days_and_the_row_stays(settings, sent):
    settings.INBOUND_RETENTION_DAYS = 30
    with time_machine.travel(timezone.now() - timedelta(days=31)):
        old = receive(corpus("hard_bounce--postfix.txt", sent), source="test").row
    new = receive(corpus("other--reply.txt", sent), source="test").row

    tasks.apply_retention.delay()

    old.refresh_from_db()
    new.refresh_from_db()
    assert old.raw is None and old.kind == Kind.HARD_BOUNCE and old.subscriber == sent.subscriber
    assert bytes(new.raw).startswith(b"Delivered-To:")


def test_a_value_the_database_refuses_is_recorded_bare_as_rejected(sent, monkeypatch):
    from newsletter.inbound import bounces

    # As if the NUL guard were missing: a value PostgreSQL refuses reaches the row.
    monkeypatch.setattr(bounces, "header", lambda message, name: "a\x00b")
    raw = b"Message-ID: <x@example.net>\r\nSubject: hello\r\n\r\nbody"

    row = receive(raw, source="imap").row

    assert row.kind == Kind.REJECTED and row.reason.startswith("could not be stored")
    assert receive(raw, source="imap").created is False
    _assert_nobody_changed()
