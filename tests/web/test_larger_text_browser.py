"""Larger text measured in Chromium, in every email Engage sends (issue 25).

A reader who chose "Larger text and larger buttons" gets, in every email (a campaign, a digest,
each welcome-series step, an event reminder, the RSVP answer and link emails, the confirmation):
- every piece of text they can see at 20 CSS px or more, every heading larger still;
- every link that stands alone (a button, a headline, the footer's and the masthead's links) at
  least 48×48 CSS px. A link inside a sentence is exempt, as WCAG 2.5.8 exempts it: it is as
  large as the sentence's text, which is 20 px.
A reader who chose nothing gets the email as designed. "No images" leaves no <img>; "plain text
only" leaves no HTML part. Screenshots go to test-artifacts/."""

from io import StringIO
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command

from newsletter.mail import access
from tests.factories import PostFactory
from tests.mail import sent_emails

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(300),
]

MEASURE = (Path(__file__).parent / "measure_email_text.js").read_text()
# Everything the posts' Markdown allows (content.posts.ALLOWED_TAGS) that has a size of its own.
RICH = """Fasciculations<sup>1</sup> and H<sub>2</sub>O, `code`, <abbr title="motor neurone
disease">MND</abbr>, **bold** and *slanted*, with [a link](https://example.org/sleep) inside.

#### A small heading

> A quotation.

    a block of code

| Week | Steps |
| --- | --- |
| 1 | 4,000 |
"""
GUEST = "guest@example.org"  # the RSVP link email's visitor: no subscriber, no choices
KINDS = ("campaign", "digest", "welcome step 1", "event reminder", "you're going to")
TRANSACTIONAL = ("one more step", "please confirm your subscription")


@pytest.fixture
def emails_for(topics, live_server, settings, tmp_path):
    settings.SITE_URL = live_server.url
    call_command("seed_demo", password_file=tmp_path / "password.txt", stdout=StringIO())

    def build(*choices: str) -> dict[str, tuple[str, str]]:
        mail.outbox.clear()
        content = sent_emails.demo_extras(topics)
        PostFactory(topic=topics["education"], title="All a summary can hold", summary=RICH)
        emails = sent_emails.every_email(content, access=choices)
        names = " | ".join(emails).lower()
        for kind in (*KINDS, *TRANSACTIONAL):
            assert kind in names, f"no {kind!r} email among: {names}"
        return emails

    return build


@pytest.fixture(params=[375, 600], ids=["375px", "600px"])
def tab(browser, request):
    # A phone, and the width of the email's column in a mail client.
    context = browser.new_context(viewport={"width": request.param, "height": 900})
    yield context.new_page()
    context.close()


def measure(tab, html: str) -> dict:
    tab.set_content(html)
    return tab.evaluate(MEASURE)


def smallest(found: dict) -> tuple[float, float, float, float]:
    """(text px, heading px, target width, target height): the smallest of each."""
    return (
        min(entry["size"] for entry in found["text"]),
        min(entry["size"] for entry in found["headings"]),
        min(entry["width"] for entry in found["targets"]),
        min(entry["height"] for entry in found["targets"]),
    )


def test_every_email_has_20px_text_and_48px_targets_for_a_reader_of_larger_text(
    emails_for, tab, screenshot
):
    emails = emails_for("larger_text")
    report, problems = [], []
    for name, (html, _text) in emails.items():
        if GUEST in name:
            # A visitor's link email: the visitor chose nothing, so their email is as designed;
            # the same template for a subscriber of larger text is what make_message builds:
            assert access.LARGER_TEXT not in html
            html, _ = access.adapt(html, "", ["larger_text"])
        found = measure(tab, html)
        screenshot(tab, name)
        report.append(
            f"{name}: text ≥ {smallest(found)[0]:g} px, targets ≥ "
            f"{smallest(found)[2]:.0f}×{smallest(found)[3]:.0f} px, "
            f"{len(found['text'])} texts, {len(found['targets'])} targets"
        )
        problems += [
            f"{name}: {t['what']} {t['size']:g} px" for t in found["text"] if t["size"] < 20
        ]
        problems += [
            f"{name}: heading {t['what']} {t['size']:g} px"
            for t in found["headings"]
            if t["size"] <= 20
        ]
        problems += [
            f"{name}: {t['what']} {t['width']:.0f}×{t['height']:.0f} px"
            for t in found["targets"]
            if t["width"] < 48 or t["height"] < 48
        ]
    print("\n", *report, sep="\n  ")
    assert problems == [], "\n".join(problems)


def test_a_reader_who_chose_nothing_gets_every_email_as_designed(emails_for, tab):
    emails = emails_for()
    report = []
    for name, (html, _text) in emails.items():
        assert html, name
        assert "<img" in html, name
        assert access.LARGER_TEXT not in html, name
        found = measure(tab, html)
        text, _heading, _width, height = smallest(found)
        report.append(f"{name}: text ≥ {text:g} px, targets ≥ {height:.0f} px high")
        # As designed: the body's 17 px, smaller print in the footer, 44 px targets.
        body = [t["size"] for t in found["text"] if t["what"].startswith("p ")]
        assert 17 in body, f"{name}: {sorted(set(body))}"
        assert text < 20, f"{name}: the design's small print is gone"
        assert height >= 44, name
    print("\n", *report, sep="\n  ")


def test_no_images_leaves_no_img_in_any_email(emails_for):
    emails = emails_for("no_images")
    for name, (html, _text) in emails.items():
        if GUEST not in name:
            assert html and "<img" not in html.lower(), name
    # The same emails for a reader who chose nothing do carry the logo and the posts' images.


def test_plain_text_only_leaves_no_html_part_in_any_email(emails_for):
    for name, (html, text) in emails_for("plain_text_only").items():
        if GUEST not in name:
            assert html == "", name
            assert text.strip(), name
