"""Every link in every email Engage sends opens a page (issue 25).

The demo (`seed_demo`: posts, brand, weekly digest, welcome series) plus what the demo lacks — a
news post and an event with no address of their own on the charity's site, an event that takes
answers, a call for help — rendered as each kind of email Engage sends: a campaign, a digest, each
welcome-series step, an event reminder, the RSVP answer and RSVP link emails, and the
confirmation. Every link of both parts that points at Engage is requested over HTTP from the
running site (the live server): none may fail. Links elsewhere may only be addresses the content
itself names (a post's page on the charity's site, a reference, a registration page, the brand's
links), never a stand-in such as the site's root."""

import re
from html.parser import HTMLParser
from io import StringIO

import pytest
import requests
from django.core.management import call_command

from newsletter.models import (
    Brand,
    BrandLink,
    Post,
    Reference,
)
from tests.mail import sent_emails

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

TEXT_LINK = re.compile(r"https?://[^\s<>\"')]+")


class _Hrefs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.found.extend(value for name, value in attrs if name == "href" and value)


def links_in(html: str, text: str) -> set[str]:
    parser = _Hrefs()
    parser.feed(html)
    return {link for link in parser.found if not link.startswith("mailto:")} | {
        link.rstrip(".,;:") for link in TEXT_LINK.findall(text)
    }


@pytest.fixture
def site(live_server, settings, topics, tmp_path):
    settings.SITE_URL = live_server.url
    call_command("seed_demo", password_file=tmp_path / "password.txt", stdout=StringIO())
    return live_server.url


@pytest.fixture
def content(site, topics):
    return sent_emails.demo_extras(topics)


def test_every_link_in_every_email_opens_a_page(content, site):
    emails = sent_emails.every_email(content)
    names = " | ".join(emails)
    kinds = ("campaign", "digest", "welcome step 1", "event reminder", "you're going to")
    for kind in (*kinds, "one more step", "please confirm your subscription"):
        assert kind in names.lower(), f"no {kind!r} email among: {names}"

    brand = Brand.objects.first()
    elsewhere_allowed = (
        set(Post.objects.exclude(url="").values_list("url", flat=True))
        | set(Post.objects.exclude(registration_url="").values_list("registration_url", flat=True))
        | set(Reference.objects.exclude(url="").values_list("url", flat=True))
        | set(BrandLink.objects.values_list("url", flat=True))
        | ({brand.donate_url} if brand and brand.donate_url else set())
    )
    checked, failures = {}, []
    for name, (html, text) in emails.items():
        for link in sorted(links_in(html, text)):
            if not link.startswith(site):
                if link not in elsewhere_allowed:
                    failures.append(f"{name}: {link} leads off Engage to no page the content names")
                continue
            if link not in checked:
                checked[link] = requests.get(link, allow_redirects=False, timeout=20).status_code
            if not 200 <= checked[link] < 400:
                failures.append(f"{name}: {link} answered {checked[link]}")

    print(f"{len(emails)} emails, {len(checked)} distinct links on Engage requested")
    assert failures == []
    # The posts with no address of their own open their page on Engage, with their words.
    for post in content["posts"]:
        page = requests.get(f"{site}/archive/posts/{post.slug}/", timeout=20)
        assert page.status_code == 200 and post.title in page.text


def test_welcome_emails_wear_the_campaigns_brand_and_the_confirmation_names_its_links(
    content, site
):
    emails = sent_emails.every_email(content)
    links = list(BrandLink.objects.values_list("label", "url"))
    assert links, "the demo brand has footer links"
    campaign_html = emails["campaign"][0]
    for name, (html, text) in emails.items():
        if name.startswith("welcome step"):
            # The same brand bar, footer links and footer as a campaign.
            assert 'class="brandbar"' in html and 'class="brandbar"' in campaign_html
            for label, url in links:
                assert f'href="{url}"' in html and f"{label}: {url}" in text
    confirmation = next(v for k, v in emails.items() if "please confirm" in k.lower())
    text = confirmation[1]
    assert "You received this email because someone entered this address" in text
    for label, url in links:
        assert f"{label}: {url}" in text
