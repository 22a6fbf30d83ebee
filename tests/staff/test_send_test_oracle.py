"""The send-test form is no oracle: a sender who types an address outside the staff and the test
list a superuser keeps gets the same answer whatever that address is (active, unsubscribed,
bounced, complained about our mail, erased, or never seen), and the hourly limit counts every
attempt before any address is looked at."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from newsletter.models import Subscriber
from newsletter.subscribers.subscriptions import erase
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory, staff_member

pytestmark = pytest.mark.django_db
Status = Subscriber.Status


@pytest.fixture
def probes(topics):
    """An address in each state a probing sender would like to tell apart."""
    news = topics["news"]
    made = {
        "active": SubscriberFactory(email="active@example.org", active=True, topics=[news]),
        "unsubscribed": SubscriberFactory(email="gone@example.org", status=Status.UNSUBSCRIBED),
        "bounced": SubscriberFactory(email="bounced@example.org", status=Status.BOUNCED),
        "complained": SubscriberFactory(email="angry@example.org", status=Status.COMPLAINED),
    }
    addresses = {state: subscriber.email for state, subscriber in made.items()}
    erase(subscriber_id=SubscriberFactory(email="erased@example.org").pk)
    addresses["erased"] = "erased@example.org"
    addresses["never seen"] = "stranger@example.org"
    return addresses


@pytest.fixture
def draft(topics):
    return CampaignFactory(topics=[topics["news"]], posts=[PostFactory(topic=topics["news"])])


def answer(client, campaign, address: str) -> tuple[int, str]:
    """What the form says to a sender who typed `address` (its errors and messages), with the
    address itself blanked."""
    url = reverse("admin:campaign-test", args=[campaign.pk])
    response = client.post(url, {"addresses": address})
    page = response.content.decode()
    said = re.findall(r'<ul class="(?:errorlist|messagelist)[^"]*"[^>]*>(.*?)</ul>', page, re.S)
    return response.status_code, " ".join(said).replace(address, "ADDRESS")


def test_every_address_outside_the_test_list_gets_the_same_answer(
    client, probes, draft, settings, django_capture_on_commit_callbacks
):
    settings.SEND_TEST_RATE = "100/h"
    client.force_login(staff_member("sender"))
    with django_capture_on_commit_callbacks(execute=True):
        answers = {state: answer(client, draft, address) for state, address in probes.items()}
    assert len(set(answers.values())) == 1, answers
    status, errors = answers["never seen"]
    assert status == 200 and "not on the test list" in errors
    assert mail.outbox == []  # and nobody outside the list got anything


def test_the_hourly_limit_counts_refused_attempts_before_any_address_is_checked(
    client, probes, draft, settings, django_capture_on_commit_callbacks
):
    assert settings.SEND_TEST_RATE == "5/h"  # the default
    client.force_login(staff_member("sender"))
    states = list(probes)
    with django_capture_on_commit_callbacks(execute=True):
        for state in states[:5]:
            assert answer(client, draft, probes[state])[0] == 200
        # The sixth probe is not looked at: a refusal for the limit, whichever address it names.
        for state in states[5:] + states[:1]:
            status, errors = answer(client, draft, probes[state])
            assert status == 429, state
            assert "as many tests as allowed" in errors
            assert "not on the test list" not in errors
    assert mail.outbox == []
