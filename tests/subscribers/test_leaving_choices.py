"""Leaving with a choice (issue 25): the unsubscribe page shows the one button first and, beside
it, fewer emails instead — digests only, a pause of one or three months, only these topics — each
one press, confirmed on the page; after leaving, an optional reason in one press and a way back
with no new opt-in. RFC 8058's one-click POST is unchanged, and a GET changes nothing.

Posted as a browser does, with the CSRF token the page gave (Client(enforce_csrf_checks=True))."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from newsletter.models import Subscriber
from newsletter.subscribers import tokens
from tests.factories import SubscriberFactory, subscriber_table

pytestmark = pytest.mark.django_db

FORM = re.compile(r'<form method="post"(?: action="([^"]*)")?>(.*?)</form>', re.S)


@pytest.fixture
def browser_like():
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def reader(topics):
    return SubscriberFactory(active=True, topics=[topics["news"], topics["events"]])


def forms_on(html: str) -> list[tuple[str, str]]:
    """(action, inner HTML) of each form, in page order."""
    return FORM.findall(html)


def press(client, page_url: str, html: str, button: str, **fields):
    """Press the button labelled `button` on the page, as a browser would send its form."""
    for action, inner in forms_on(html):
        found = re.search(
            rf'<button[^>]*name="action" value="([^"]+)"[^>]*>{re.escape(button)}<', inner
        )
        if found:
            data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', inner))
            data.update(action=found.group(1), **fields)
            return client.post(action or page_url, data)
    raise AssertionError(f"no button {button!r} on the page")


def test_the_page_shows_the_one_button_first_then_fewer_emails_and_a_get_changes_nothing(
    browser_like, reader
):
    before = subscriber_table()

    response = browser_like.get(tokens.unsubscribe_url(reader.pk))

    html = response.content.decode()
    assert response.status_code == 200
    labels = re.findall(r"<button[^>]*>([^<]+)</button>", html)
    assert labels[0] == "Unsubscribe"
    assert labels[1:] == [
        "Digests only",
        "Pause for one month",
        "Pause for three months",
        "Keep only these topics",
    ]
    assert html.index("Or fewer emails instead") > html.index(">Unsubscribe</button>")
    assert subscriber_table() == before


@pytest.mark.parametrize(
    ("button", "fields", "said", "changed"),
    [
        ("Digests only", {}, "you will get our digests only", {"digest_only": True}),
        ("Pause for one month", {}, "Paused until", {"paused_until": 30}),
        ("Pause for three months", {}, "Paused until", {"paused_until": 90}),
        (
            "Keep only these topics",
            {"topics": ["events"]},
            "only about Events",
            {"topics": ["events"]},
        ),
    ],
)
def test_each_gentler_choice_is_one_press_confirmed_on_the_page_and_keeps_the_reader(
    browser_like, reader, button, fields, said, changed
):
    page_url = tokens.unsubscribe_url(reader.pk)
    page = browser_like.get(page_url).content.decode()

    response = press(browser_like, page_url, page, button, **fields)

    assert response.status_code == 200
    html = response.content.decode()
    assert said in html and "data-result" in html
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.ACTIVE
    if "digest_only" in changed:
        assert reader.digest_only is True
    if "paused_until" in changed:
        until = timezone.localdate() + timedelta(days=changed["paused_until"])
        assert reader.paused_until == until
        assert until.strftime("%-d %B %Y") in html  # "Paused until 6 January 2027"
    if "topics" in changed:
        assert sorted(reader.topics.values_list("slug", flat=True)) == changed["topics"]


def test_keeping_the_same_topics_or_none_changes_nothing_and_says_so(browser_like, reader):
    page_url = tokens.unsubscribe_url(reader.pk)
    page = browser_like.get(page_url).content.decode()
    before = subscriber_table()

    same = press(browser_like, page_url, page, "Keep only these topics", topics=["news", "events"])
    none = press(browser_like, page_url, page, "Keep only these topics")

    for response in (same, none):
        assert "Nothing changed" in response.content.decode()
    assert subscriber_table() == before


def test_a_pause_the_page_does_not_offer_is_refused_and_changes_nothing(browser_like, reader):
    before = subscriber_table()
    url = tokens.preferences_url(reader.pk)
    browser_like.get(url)
    token = browser_like.cookies["csrftoken"].value

    response = browser_like.post(
        url, {"action": "pause", "months": "120", "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 400
    assert subscriber_table() == before


def test_one_click_post_is_unchanged_then_a_reason_in_one_press_and_a_way_back(
    browser_like, reader
):
    page_url = tokens.unsubscribe_url(reader.pk)
    # RFC 8058: a mail client's POST, no cookie, no token.
    left = Client(enforce_csrf_checks=True).post(page_url, {"List-Unsubscribe": "One-Click"})
    assert left.status_code == 200
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.UNSUBSCRIBED

    # The same POST from the page in a browser: then the reason, one press.
    browser_like.get(page_url)
    after = browser_like.post(page_url).content.decode()
    assert "You are unsubscribed" in after
    told = press(browser_like, page_url, after, "Too many emails")
    assert "Thank you for telling us." in told.content.decode()
    reader.refresh_from_db()
    assert (reader.status, reader.leaving_reason) == ("unsubscribed", "too-many")

    back = press(browser_like, page_url, told.content.decode(), "Resubscribe")
    assert "Welcome back" in back.content.decode()
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.ACTIVE
    assert reader.consent_source == "preference centre: resubscribed"


def test_a_reason_is_kept_only_for_a_reader_who_left(browser_like, reader):
    before = subscriber_table()
    url = tokens.preferences_url(reader.pk)
    browser_like.get(url)
    token = browser_like.cookies["csrftoken"].value

    browser_like.post(url, {"action": "reason", "reason": "too-many", "csrfmiddlewaretoken": token})

    assert subscriber_table() == before
