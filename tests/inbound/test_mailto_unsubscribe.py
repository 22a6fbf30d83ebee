"""A request by mail to the unsubscribe address acts only when it proves itself: a valid token in
the address, or a From whose domain passed DMARC per OUR receiving server's Authentication-Results
(the topmost one, with our authserv-id), and then only on that address. Anything else is
recorded, unverified, with its reason, and changes nobody."""

import pytest

from newsletter.inbound.receive import receive
from newsletter.mail import verp
from newsletter.models import InboundMessage, Subscriber
from tests import ledger

OURS = "mx.news.engage.example.org"
UNSUBSCRIBE = "unsubscribe@news.engage.example.org"


@pytest.fixture(autouse=True)
def _receiving_server(settings):
    settings.INBOUND_AUTHSERV_ID = OURS
    settings.UNSUBSCRIBE_MAILTO = UNSUBSCRIBE
    settings.BOUNCE_ADDRESS = "bounces@news.engage.example.org"


@pytest.fixture
def readers(topics):
    campaign = ledger.campaign(topics["news"])
    return {
        name: ledger.delivery(campaign, ledger.subscriber(f"{name}@example.org"))
        for name in ("ann", "bob", "cat")
    }


def request(
    *,
    sender="ann@example.org",
    to=UNSUBSCRIBE,
    results=(),
    extra_headers=(),
    message_id="<req-1@example.org>",
) -> bytes:
    """A request as our receiving server delivers it: its own Authentication-Results on top of
    what the message arrived with (`results`, topmost first; `extra_headers` below them)."""
    lines = [
        "Return-Path: <ann@example.org>",
        f"Delivered-To: {to}",
        *(f"Authentication-Results: {value}" for value in results),
        f"Received: from mail.example.org (mail.example.org [198.51.100.7]) by {OURS}",
        *extra_headers,
        f"From: {sender}",
        f"To: {to}",
        "Subject: unsubscribe",
        f"Message-ID: {message_id}",
        "",
        "Please take me off the list.",
    ]
    return "\r\n".join(lines).encode()


def dmarc(result="pass", domain="example.org", server=OURS) -> str:
    return (
        f"{server}; dkim=pass header.d={domain} header.s=s1; "
        f"spf=pass smtp.mailfrom={domain}; dmarc={result} (p=reject dis=none) header.from={domain}"
    )


def statuses() -> dict[str, str]:
    return dict(Subscriber.objects.values_list("email", "status"))


def test_a_from_that_passed_dmarc_at_our_server_unsubscribes_that_address_only(readers):
    received = receive(request(results=[dmarc()]), source="pipe", envelope_to=UNSUBSCRIBE)

    assert statuses() == {
        "ann@example.org": "unsubscribed",
        "bob@example.org": "active",
        "cat@example.org": "active",
    }
    assert received.row.subscriber.email == "ann@example.org"


def test_a_valid_token_in_the_address_unsubscribes_its_reader_whatever_the_from(readers):
    to = verp.address(UNSUBSCRIBE, verp.make_token(verp.UNSUBSCRIBE, readers["bob"].pk))

    receive(request(sender="someone@elsewhere.example", to=to), source="pipe", envelope_to=to)

    assert statuses()["bob@example.org"] == "unsubscribed"
    assert statuses()["ann@example.org"] == "active"


HOSTILE = {
    "a forged From and no Authentication-Results": {},
    "another server's results on top": {"results": [dmarc(server="mx.google.com")]},
    "our server says DMARC failed; a forged pass below": {
        "results": [dmarc("fail")],
        "extra_headers": [f"Authentication-Results: {dmarc()}"],
    },
    "our server found no DMARC record; a forged pass below": {
        "results": [
            f"{OURS}; spf=none smtp.mailfrom=example.org; dmarc=none header.from=example.org"
        ],
        "extra_headers": [f"Authentication-Results: {dmarc()}"],
    },
    "DMARC passed for another domain than the From's": {
        "results": [dmarc(domain="attacker.example")]
    },
    "two From addresses": {"sender": "ann@example.org, bob@example.org", "results": [dmarc()]},
    "an unreadable Authentication-Results": {"results": [f"{OURS}; dmarc=(((( ;;"]},
    "an Authentication-Results without a method": {"results": [f"{OURS}; none"]},
    "NUL bytes and a huge header": {"results": [OURS + "; dmarc=pass\x00" + "x" * 20000]},
    "an altered token": {
        "to": "unsubscribe+1-g1m-00000000000000000000@news.engage.example.org",
    },
}


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
def test_an_unproven_request_is_recorded_unverified_and_changes_nobody(readers, hostile):
    raw = request(**hostile)

    received = receive(raw, source="pipe", envelope_to=hostile.get("to", UNSUBSCRIBE))

    assert set(statuses().values()) == {"active"}
    row = InboundMessage.objects.get()
    assert row == received.row
    assert row.kind == "unsubscribe"
    assert row.subscriber is None
    assert "unverified" in row.reason or "token refused" in row.reason


def test_without_an_authserv_id_configured_no_dmarc_result_is_believed(readers, settings):
    settings.INBOUND_AUTHSERV_ID = ""

    received = receive(request(results=[dmarc()]), source="pipe", envelope_to=UNSUBSCRIBE)

    assert statuses()["ann@example.org"] == "active"
    assert "INBOUND_AUTHSERV_ID" in received.row.reason


def test_the_authserv_id_is_compared_without_regard_to_case(readers):
    receive(request(results=[dmarc(server=OURS.upper())]), source="pipe", envelope_to=UNSUBSCRIBE)

    assert statuses()["ann@example.org"] == "unsubscribed"
