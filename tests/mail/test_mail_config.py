"""Choosing how mail leaves (an ESP, SMTP with DKIM, files) is configuration, not code."""

import pytest
from anymail.backends.postmark import EmailBackend as PostmarkBackend
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, mailers
from django.utils import timezone

from engage.mail_config import (
    anymail_settings,
    default_batch_size,
    default_mailer,
    default_send_rate,
    sns_cert_url_allow,
)
from newsletter import delivery
from newsletter.models import Campaign, Delivery
from tests import ledger
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory
from tests.inbound.test_webhooks import WEBHOOK_SECRET, post_postmark, postmark_delivery

OPTIONS = {"outbox_dir": "/tmp/outbox", "timeout": 7}


def test_esp_postmark_in_the_environment_selects_anymails_postmark_backend(settings):
    environment = {"ESP": "postmark", "ANYMAIL_POSTMARK_SERVER_TOKEN": "server-token-123"}
    settings.MAILERS = {"default": default_mailer(environment, **OPTIONS)}
    settings.ANYMAIL = anymail_settings(environment)

    # anymail's, subclassed to personalise batch calls (newsletter/esp_backends.py).
    assert settings.MAILERS["default"] == {"BACKEND": "newsletter.mail.esp_backends.EmailBackend"}
    assert settings.ANYMAIL == {"POSTMARK_SERVER_TOKEN": "server-token-123"}
    backend = mailers.default
    assert isinstance(backend, PostmarkBackend)
    assert backend.server_token == "server-token-123"


def test_an_esp_anymail_does_not_know_is_refused_loudly():
    with pytest.raises(ImproperlyConfigured, match="not a django-anymail backend"):
        default_mailer({"ESP": "postmarkk"}, **OPTIONS)
    with pytest.raises(ImproperlyConfigured):
        default_mailer({"ESP": "../etc"}, **OPTIONS)


def test_smtp_with_a_dkim_key_signs_and_without_one_does_not():
    url = {"EMAIL_URL": "smtp+tls://user:pw@relay.example.org:587"}
    dkim = {"DKIM_PRIVATE_KEY_PATH": "/k.pem", "DKIM_SELECTOR": "s1", "DKIM_DOMAIN": "d.org"}

    plain = default_mailer(url, **OPTIONS)
    signing = default_mailer({**url, **dkim}, **OPTIONS)

    assert plain["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert signing["BACKEND"] == "newsletter.mail.backends.DkimSmtpBackend"
    assert signing["OPTIONS"] == plain["OPTIONS"]
    assert plain["OPTIONS"] == {
        "host": "relay.example.org",
        "port": 587,
        "username": "user",
        "password": "pw",
        "use_tls": True,
        "use_ssl": False,
        "timeout": 7,
    }


def test_no_configuration_writes_files_to_the_outbox():
    assert default_mailer({}, **OPTIONS) == {
        "BACKEND": "newsletter.mail.outbox.OutboxBackend",
        "OPTIONS": {"file_path": "/tmp/outbox"},
    }


def test_a_send_through_an_esp_records_its_message_id_and_its_webhooks_find_the_delivery(
    client, settings, topics, django_capture_on_commit_callbacks
):
    settings.MAILERS = {"default": default_mailer({"ESP": "test"}, **OPTIONS)}
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}
    reader = ledger.subscriber("esp@example.org")
    delivery = ledger.delivery(ledger.campaign(topics["news"]), reader, message_id="")
    message = EmailMessage("Hello", "Body", "news@engage.example.org", [reader.email])

    message.send()
    # What the delivery engine stores for an ESP send: the ESP's id for the message (anymail's
    # test ESP numbers its messages).
    assert message.anymail_status.message_id is not None
    esp_id = str(message.anymail_status.message_id)
    delivery.message_id = esp_id
    delivery.save(update_fields=["message_id"])
    with django_capture_on_commit_callbacks(execute=True):
        post_postmark(client, postmark_delivery(esp_id, reader.email))

    assert message.anymail_status.status == {"sent"}
    delivery.refresh_from_db()
    assert delivery.delivered_at is not None


def test_the_delivery_engine_sending_through_an_esp_stores_the_esps_message_id(
    client, settings, topics, django_capture_on_commit_callbacks
):
    settings.MAILERS = {"default": default_mailer({"ESP": "test"}, **OPTIONS)}
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}
    campaign = CampaignFactory(
        posts=[PostFactory(topic=topics["news"])],
        topics=[topics["news"]],
        status=Campaign.Status.SENDING,
        started_at=timezone.now(),
    )
    reader = SubscriberFactory(topics=[topics["news"]], active=True)
    with django_capture_on_commit_callbacks():
        delivery.prepare(campaign.pk)
    row = Delivery.objects.get(subscriber=reader)
    delivery.send_batch([row.pk])

    (sent,) = mail.outbox
    assert sent.anymail_status.message_id == 0  # anymail's test ESP numbers from 0
    row.refresh_from_db()
    assert row.status == Delivery.Status.SENT
    assert row.message_id == str(sent.anymail_status.message_id)
    with django_capture_on_commit_callbacks(execute=True):
        post_postmark(client, postmark_delivery(row.message_id, reader.email))
    row.refresh_from_db()
    assert row.delivered_at is not None


def test_anymails_request_timeout_from_the_environment_is_a_number():
    assert anymail_settings({"ANYMAIL_REQUESTS_TIMEOUT": "7.5"}) == {"REQUESTS_TIMEOUT": 7.5}
    with pytest.raises(ImproperlyConfigured, match="REQUESTS_TIMEOUT"):
        anymail_settings({"ANYMAIL_REQUESTS_TIMEOUT": "soon"})


def test_anymails_switches_from_the_environment_are_true_or_false():
    found = anymail_settings(
        {
            "ANYMAIL_AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": "false",
            "ANYMAIL_IGNORE_UNSUPPORTED_FEATURES": "True",
            "ANYMAIL_WEBHOOK_SECRET": "user:a-long-secret",
        }
    )

    assert found == {
        "AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": False,
        "IGNORE_UNSUPPORTED_FEATURES": True,
        "WEBHOOK_SECRET": "user:a-long-secret",
    }


def test_the_send_rate_defaults_to_the_cap_the_esp_documents():
    assert default_send_rate({"ESP": "amazon_ses"}) == 14
    assert default_send_rate({"ESP": "postmark"}) == 0  # none documented: its 429s slow us
    assert default_send_rate({}) == 0


def test_a_send_task_takes_200_readers_over_smtp_and_2000_through_an_esp():
    # README: "`SEND_BATCH_SIZE` … 200; through an ESP with batch calls, 2000".
    assert default_batch_size({}, batch_calls=True) == 200
    smtp = {"EMAIL_URL": "smtp://relay.example.org:587"}
    assert default_batch_size(smtp, batch_calls=True) == 200
    assert default_batch_size({"ESP": "postmark"}, batch_calls=True) == 2000
    # ESP_BATCH_CALLS=false: one call per message, in tasks as small as SMTP's.
    assert default_batch_size({"ESP": "postmark"}, batch_calls=False) == 200


@pytest.mark.parametrize(
    "value",
    [
        "https://sns.example.net/",
        "http://10.0.0.5:8080/sns/",
        "http://127.0.0.1.evil.example/",
        "http://127.0.0.1:8080/sns",
    ],
)
def test_sns_certificates_are_believed_from_elsewhere_only_on_loopback(value):
    with pytest.raises(ImproperlyConfigured, match="loopback"):
        sns_cert_url_allow({"SNS_CERT_URL_ALLOW": value})


def test_sns_certificates_come_from_amazon_alone_unless_a_test_allows_its_stand_in():
    assert sns_cert_url_allow({}) == ""
    allowed = "http://127.0.0.1:8080/sns/"
    assert sns_cert_url_allow({"SNS_CERT_URL_ALLOW": allowed}) == allowed
