"""DKIM: a message signed by Engage and delivered over SMTP verifies with the public key."""

import base64
import email.policy
import smtplib
import subprocess

import dkim as dkimpy
import pytest
from django.core.mail import EmailMultiAlternatives, mailers
from django.utils import timezone

from newsletter import delivery
from newsletter.mail import dkim
from newsletter.models import Campaign, Delivery
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

SELECTOR, DOMAIN = "engage2026", "engage.example.org"


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory):
    """A fresh 2048-bit key pair: the private key file and the DNS TXT record of the public key."""
    path = tmp_path_factory.mktemp("dkim") / "private.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(path), "2048"], check=True, capture_output=True
    )
    public_der = subprocess.run(
        ["openssl", "rsa", "-in", str(path), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)
    return path, record


@pytest.fixture
def dkim_settings(settings, rsa_key):
    path, record = rsa_key
    settings.DKIM_PRIVATE_KEY_PATH = str(path)
    settings.DKIM_SELECTOR = SELECTOR
    settings.DKIM_DOMAIN = DOMAIN
    return record


def _dns(record):
    def lookup(name, timeout=5):
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    return lookup


def _newsletter_message(to="reader@example.org") -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        "News from Engage: fasciculations explained",
        "Hello friend,\n\nWhat twitching muscles usually mean.\n",
        f"Engage <news@{DOMAIN}>",
        [to],
        headers={
            "List-Unsubscribe": (
                "<https://engage.example.org/unsubscribe/abc:def/>, "
                "<mailto:unsubscribe@engage.example.org?subject=unsubscribe>"
            ),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": "Engage news <news.engage.example.org>",
        },
    )
    message.attach_alternative("<p>Hello friend,</p><p>What twitching means.</p>", "text/html")
    return message


def _smtp_bytes(message: EmailMultiAlternatives) -> bytes:
    """The bytes Django's SMTP backend sends (CRLF line endings)."""
    return message.message(policy=email.policy.SMTP).as_bytes()


def _signed_header_names(data: bytes) -> set[str]:
    signature = data.split(b"DKIM-Signature:", 1)[1].split(b"\r\n\r\n", 1)[0]
    tags = dict(
        part.strip().split(b"=", 1) for part in b"".join(signature.split()).split(b";") if part
    )
    return {name.decode().lower() for name in tags[b"h"].split(b":")}


def test_a_message_sent_over_smtp_verifies_with_the_public_key(sink, dkim_settings):
    raw = _smtp_bytes(_newsletter_message())
    signed = dkim.sign(raw)
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
        smtp.sendmail(f"news@{DOMAIN}", ["reader@example.org"], signed)

    (received,) = sink.wait_for(1)
    assert dkimpy.verify(received.data, dnsfunc=_dns(dkim_settings))
    assert _signed_header_names(received.data) >= {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "list-id",
        "mime-version",
        "content-type",
    }
    assert b"c=relaxed/relaxed" in b"".join(received.data.split(b"\r\n\r\n")[0].split())


def test_a_tampered_subject_fails_verification(sink, dkim_settings):
    signed = dkim.sign(_smtp_bytes(_newsletter_message()))
    tampered = signed.replace(b"fasciculations explained", b"click here now", 1)
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
        smtp.sendmail(f"news@{DOMAIN}", ["reader@example.org"], tampered)

    (received,) = sink.wait_for(1)
    assert b"click here now" in received.data
    assert not dkimpy.verify(received.data, dnsfunc=_dns(dkim_settings))


def test_a_dropped_one_click_header_fails_verification(dkim_settings):
    signed = dkim.sign(_smtp_bytes(_newsletter_message()))
    stripped = signed.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", b"", 1)

    assert stripped != signed
    assert not dkimpy.verify(stripped, dnsfunc=_dns(dkim_settings))


def test_the_smtp_mailer_signs_what_it_delivers(sink, settings, dkim_settings):
    settings.MAILERS = {
        "default": {
            "BACKEND": "newsletter.mail.backends.DkimSmtpBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": sink.port, "timeout": 10},
        }
    }
    _newsletter_message().send()
    mailers.default.send_messages([_newsletter_message("second@example.org")])

    first, second = sink.wait_for(2)
    for received in (first, second):
        assert received.data.startswith(b"DKIM-Signature:")
        assert dkimpy.verify(received.data, dnsfunc=_dns(dkim_settings))
    assert second.rcpt_tos == ["second@example.org"]


def test_without_a_key_messages_go_out_unchanged(settings):
    settings.DKIM_PRIVATE_KEY_PATH = ""
    raw = _smtp_bytes(_newsletter_message())

    assert dkim.sign(raw) is raw


def test_a_campaign_sent_by_the_delivery_engine_arrives_signed(
    topics, sink, dkim_settings, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(
        posts=[PostFactory(topic=topics["news"])],
        topics=[topics["news"]],
        status=Campaign.Status.SENDING,
        started_at=timezone.now(),
    )
    SubscriberFactory(topics=[topics["news"]], active=True, first_name="Zoë")
    with django_capture_on_commit_callbacks():
        delivery.prepare(campaign.pk)

    delivery.send_batch(list(Delivery.objects.values_list("pk", flat=True)))

    (received,) = sink.wait_for(1)
    assert dkimpy.verify(received.data, dnsfunc=_dns(dkim_settings))
    assert {"list-unsubscribe", "list-unsubscribe-post"} <= _signed_header_names(received.data)
