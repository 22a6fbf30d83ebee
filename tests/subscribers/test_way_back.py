"""The way back after unsubscribing (issue 25): with no new opt-in only within 30 days, from the
signed link the page after leaving carries in its button (the same browser session) and offers
to keep. After that the page says kindly how to join again, and nothing changes. A GET (a mail
scanner) never changes anything.

Time is frozen with time-machine at day 29 and day 31 after leaving; posts carry the CSRF token the
page gave (Client(enforce_csrf_checks=True))."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from newsletter.models import Subscriber, Suppression
from newsletter.subscribers import policy, tokens
from tests.factories import SubscriberFactory, subscriber_table

pytestmark = pytest.mark.django_db

LEFT_AT = timezone.now().replace(microsecond=0)


@pytest.fixture
def reader(topics):
    return SubscriberFactory(active=True, topics=[topics["news"], topics["events"]])


@pytest.fixture
def left(reader):
    """A reader who unsubscribed in a browser at LEFT_AT: (their browser, the way-back link)."""
    browser = Client(enforce_csrf_checks=True)
    with time_machine.travel(LEFT_AT, tick=False):
        url = tokens.unsubscribe_url(reader.pk)
        browser.get(url)
        page = browser.post(url).content.decode()
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.UNSUBSCRIBED
    link = re.search(r'<a href="(/come-back/[^"]+/)">this link to come back later</a>', page)
    assert link, page
    return browser, link.group(1)


def resubscribe(client, url):
    """Open the page as a reader would, then press its Resubscribe button (the CSRF cookie also
    from the join page: a page that offers no button sets none, as when the reader opened the page
    the day before)."""
    client.get("/join/")
    client.get(url)
    token = client.cookies["csrftoken"].value
    return client.post(url, {"action": "resubscribe", "csrfmiddlewaretoken": token})


def test_the_same_browser_session_comes_back_with_one_press(left, reader):
    browser, link = left
    with time_machine.travel(LEFT_AT + timedelta(minutes=2), tick=False):
        back = browser.post(link, {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})

    assert back.status_code == 200
    assert "Welcome back: you are subscribed again" in back.content.decode()
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.ACTIVE
    assert sorted(reader.topics.values_list("slug", flat=True)) == ["events", "news"]


def test_the_link_brings_a_reader_back_on_day_29_and_a_get_changes_nothing(left, reader):
    _, link = left
    with time_machine.travel(LEFT_AT + timedelta(days=29), tick=False):
        before = subscriber_table()
        # A mail scanner, or the reader opening the link: a page with a button, nothing changed.
        scanned = Client().get(link)
        assert scanned.status_code == 200
        assert "Resubscribe" in scanned.content.decode()
        assert subscriber_table() == before

        back = resubscribe(Client(enforce_csrf_checks=True), link)

    assert back.status_code == 200
    assert "Welcome back" in back.content.decode()
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.ACTIVE
    assert reader.consent_source == "preference centre: resubscribed"


def test_on_day_31_the_link_explains_how_to_join_again_and_changes_nothing(left, reader):
    _, link = left
    with time_machine.travel(LEFT_AT + timedelta(days=31), tick=False):
        before = subscriber_table()
        shown = Client().get(link)
        pressed = resubscribe(Client(enforce_csrf_checks=True), link)

    for response in (shown, pressed):
        html = response.content.decode()
        assert response.status_code == 410
        assert "more than 30 days since you unsubscribed" in html
        assert 'href="/join/"' in html
        assert 'value="resubscribe"' not in html
    assert subscriber_table() == before


def test_on_day_31_even_the_browser_that_left_must_join_again(left, reader):
    browser, link = left
    with time_machine.travel(LEFT_AT + timedelta(days=31), tick=False):
        before = subscriber_table()
        response = resubscribe(browser, link)

    assert response.status_code == 410
    assert subscriber_table() == before


@pytest.mark.parametrize("days, status, active", [(29, 200, True), (31, 410, False)])
def test_the_preference_link_which_never_expires_keeps_the_same_grace(
    left, reader, days, status, active
):
    url = tokens.preferences_url(reader.pk)
    with time_machine.travel(LEFT_AT + timedelta(days=days), tick=False):
        shown = Client().get(url).content.decode()
        response = resubscribe(Client(enforce_csrf_checks=True), url)

    assert ('value="resubscribe"' in shown) is active
    assert response.status_code == status
    reader.refresh_from_db()
    assert (reader.status == Subscriber.Status.ACTIVE) is active
    if not active:
        assert "Join us again" in response.content.decode()


def test_a_bounce_or_a_complaint_is_never_lifted_by_the_way_back(left, reader):
    _, link = left
    policy.suppress(reader.pk, Suppression.Reason.COMPLAINED)
    before = subscriber_table()

    with time_machine.travel(LEFT_AT + timedelta(days=1), tick=False):
        response = resubscribe(Client(enforce_csrf_checks=True), link)

    assert response.status_code == 409
    assert subscriber_table() == before


def test_an_altered_link_is_refused(left):
    _, link = left
    response = Client().get(link[:-3] + "xx/")

    assert response.status_code == 400
    assert "not valid" in response.content.decode()
