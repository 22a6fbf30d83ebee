"""One message builder for every send path: List-Unsubscribe stays a plain RFC 2369 list."""

import re
from email import message_from_bytes, policy

import pytest
from django.core import mail
from django.utils import timezone

from newsletter import delivery
from newsletter.campaigns import sendtest
from newsletter.models import Campaign, Delivery
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

# RFC 2369: a comma-separated list of <URI>s; folding may only add whitespace between them.
LIST_UNSUBSCRIBE = re.compile(
    rb"^List-Unsubscribe: <(https?://[^>\s]+)>,\s+<(mailto:[^>\s]+)>\r?$", re.MULTILINE
)


@pytest.fixture
def campaign(topics, settings):
    # A long site address makes the URL longer than a folded line, which is when Python's email
    # would fall back to RFC 2047 encoded words.
    settings.SITE_URL = "https://newsletter.engage-health-charity.example.org/some/long/prefix"
    return CampaignFactory(
        subject="Autumn news: café mornings",
        posts=[PostFactory(topic=topics["news"])],
        topics=[topics["news"]],
        status=Campaign.Status.SENDING,
        started_at=timezone.now(),
    )


def sent_to(campaign, topics, capture):
    person = SubscriberFactory(active=True, topics=[topics["news"]], first_name="Zoë")
    with capture():
        delivery.prepare(campaign.pk)
    delivery.send_batch(list(Delivery.objects.values_list("pk", flat=True)))
    assert Delivery.objects.get().status == Delivery.Status.SENT
    return person


def assert_plain_list_unsubscribe(data: bytes) -> None:
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    unfolded = re.sub(rb"\r?\n[ \t]+", b" ", head)
    assert b"List-Unsubscribe: =?" not in unfolded
    match = LIST_UNSUBSCRIBE.search(unfolded)
    assert match, unfolded.decode(errors="replace")
    assert b"/unsubscribe/" in match.group(1)
    assert match.group(2).endswith(b"?subject=unsubscribe")


def test_the_eml_outbox_writes_list_unsubscribe_as_a_list_of_uris(
    topics, campaign, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MAILERS = {
        "default": {
            "BACKEND": "newsletter.mail.outbox.OutboxBackend",
            "OPTIONS": {"file_path": str(tmp_path)},
        }
    }
    sent_to(campaign, topics, django_capture_on_commit_callbacks)

    [eml] = tmp_path.glob("*.eml")
    assert_plain_list_unsubscribe(eml.read_bytes())


def test_a_locmem_message_and_a_test_send_write_it_the_same_way(
    topics, campaign, django_capture_on_commit_callbacks
):
    sent_to(campaign, topics, django_capture_on_commit_callbacks)
    sendtest.campaign_send_test(
        campaign_id=campaign.pk, addresses=["staff@example.org"], topic_slugs=[]
    )

    delivered, test = mail.outbox
    assert test.subject.startswith("[Test] ")
    for message in (delivered, test):
        assert_plain_list_unsubscribe(message.message().as_bytes())
    parsed = message_from_bytes(test.message().as_bytes(), policy=policy.default)
    assert parsed["Subject"] == "[Test] Autumn news: café mornings"


def test_the_smtp_fast_path_writes_it_plainly_too(
    topics, campaign, sink, django_capture_on_commit_callbacks
):
    sent_to(campaign, topics, django_capture_on_commit_callbacks)

    [received] = sink.received
    assert_plain_list_unsubscribe(received.data)
    assert received.message["To"].addresses[0].display_name == "Zoë"


def test_an_esp_gets_list_unsubscribe_as_the_same_plain_list(
    topics, campaign, settings, django_capture_on_commit_callbacks
):
    settings.MAILERS = {"default": {"BACKEND": "anymail.backends.test.EmailBackend"}}
    sent_to(campaign, topics, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    header = message.anymail_test_params["extra_headers"]["List-Unsubscribe"]
    assert_plain_list_unsubscribe(f"List-Unsubscribe: {header}".encode())
