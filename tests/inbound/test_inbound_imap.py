"""The mailbox polled by beat, against a real Dovecot over imaps on loopback."""

import pytest
from django.conf import settings

from newsletter.inbound import imap
from newsletter.inbound import receive as receive_module
from newsletter.models import InboundMessage, Subscriber
from tests import ledger
from tests.delivery.test_faults import Beat
from tests.dovecot import Dovecot
from tests.inbound_mail import BOUNCE_ADDRESS, corpus
from tests.support import database_url, wait_until

RECORDED = imap.RECORDED.encode()


@pytest.fixture
def dovecot():
    server = Dovecot().start()
    yield server
    server.destroy()


@pytest.fixture
def readers(topics, settings):
    settings.BOUNCE_ADDRESS = BOUNCE_ADDRESS
    campaign = ledger.campaign(topics["news"])
    return {
        name: ledger.delivery(campaign, ledger.subscriber(f"{name}@example.org"))
        for name in ("bea", "cal", "dee", "eve")
    }


def _three_reports(readers) -> list[bytes]:
    return [
        corpus("hard_bounce--postfix.txt", readers["bea"]),
        corpus("complaint--outlook-jmrp.txt", readers["cal"]),
        corpus("unsubscribe--mailto.txt", readers["dee"]),
    ]


def _statuses():
    return dict(Subscriber.objects.values_list("email", "status"))


AFTER = {
    "bea@example.org": "bounced",
    "cal@example.org": "complained",
    "dee@example.org": "unsubscribed",
    "eve@example.org": "active",
}


@pytest.mark.django_db
def test_a_poll_records_each_message_once_flags_it_and_deletes_nothing(dovecot, readers):
    for raw in _three_reports(readers):
        dovecot.append(raw)

    assert imap.poll(dovecot.url) == 3
    assert imap.poll(dovecot.url) == 0  # flagged: not fetched again

    assert InboundMessage.objects.count() == 3
    assert _statuses() == AFTER
    kept = dovecot.messages()
    assert len(kept) == 3
    assert all(RECORDED in flags and b"\\Seen" in flags for _, flags, _ in kept)
    assert {raw for _, _, raw in kept} == set(_three_reports(readers))


@pytest.mark.django_db
def test_a_connection_dropped_mid_poll_loses_nothing(dovecot, readers, monkeypatch):
    for raw in _three_reports(readers):
        dovecot.append(raw)
    calls = []

    def receive_then_drop(raw, **kwargs):
        result = receive_module.receive(raw, **kwargs)
        calls.append(result)
        if len(calls) == 2:
            dovecot.stop()  # recorded, not yet flagged: the server goes away
        return result

    monkeypatch.setattr(imap, "receive", receive_then_drop)
    with pytest.raises((OSError, imap.IMAPClient.Error)):
        imap.poll(dovecot.url)
    assert InboundMessage.objects.count() == 2

    dovecot.start()
    monkeypatch.undo()
    assert imap.poll(dovecot.url) == 1  # the second is seen again, recorded already: a replay

    assert InboundMessage.objects.count() == 3
    assert _statuses() == AFTER
    kept = dovecot.messages()
    assert len(kept) == 3 and all(RECORDED in flags for _, flags, _ in kept)


@pytest.mark.django_db
def test_an_imap_url_polls_over_starttls(dovecot, readers):
    dovecot.append(_three_reports(readers)[0])

    assert imap.poll(dovecot.starttls_url) == 1
    assert _statuses()["bea@example.org"] == "bounced"


@pytest.mark.django_db
def test_a_20_mb_message_is_recorded_as_rejected_from_its_start_and_flagged(
    dovecot, readers, settings
):
    settings.INBOUND_MAX_BYTES = 10 * 1024 * 1024
    big = (
        b"From: someone@example.net\r\nSubject: a big attachment\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n" + b"QUJD" * (5 * 1024 * 1024)
    )
    dovecot.append(big)

    assert imap.poll(dovecot.url) == 1

    row = InboundMessage.objects.get()
    assert row.kind == "rejected" and "too large" in row.reason
    assert row.size == len(big) and bytes(row.raw) == big[: 64 * 1024]
    [(_, flags, kept)] = dovecot.messages()
    assert RECORDED in flags and kept == big
    assert set(_statuses().values()) == {"active"}


@pytest.mark.django_db
def test_bad_messages_in_the_mailbox_do_not_stop_the_poll(dovecot, readers):
    bad = [
        b"\x00\x01 not a message",
        b"From: \xff\xfe <x@example.net>\r\nSubject: \xe9\x00\r\n\r\n\xff",
        b"Content-Type: multipart/report; boundary=\r\n\r\n--\r\nbroken",
    ]
    for raw in [*bad, *_three_reports(readers)]:
        dovecot.append(raw)

    assert imap.poll(dovecot.url) == 6

    assert _statuses() == AFTER
    assert all(RECORDED in flags for _, flags, _ in dovecot.messages())


@pytest.mark.django_db
def test_a_wrong_password_is_an_error_and_records_nothing(dovecot):
    dovecot.append(b"From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n")

    with pytest.raises(imap.IMAPClient.Error):
        imap.poll(dovecot.url.replace(":secret@", ":wrong@"))
    assert not InboundMessage.objects.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_beat_and_a_worker_apply_a_bounce_a_complaint_and_an_unsubscribe_within_one_poll(
    dovecot, readers, start_worker
):
    for raw in _three_reports(readers):
        dovecot.append(raw)
    env = {"INBOUND_MAILBOX_URL": dovecot.url, "BOUNCE_ADDRESS": BOUNCE_ADDRESS}
    start_worker(extra_env=env)
    beat = Beat(database_url=database_url(), queue=settings.CELERY_TASK_DEFAULT_QUEUE)
    beat.env.update(env, INBOUND_POLL_SECONDS="1", TICK_SECONDS="3600")
    beat.start()
    try:
        wait_until(lambda: _statuses() == AFTER, 90, message="the three reports applied")
    finally:
        beat.stop()

    assert InboundMessage.objects.count() == 3
    assert len(dovecot.messages()) == 3
