"""The charity's look in Chromium: staff change the brand colour in admin and see it in the
campaign preview and on the join page; the demo's first digest, as delivered to the SMTP sink,
shows its pictures, logo and donate button. Screenshots in test-artifacts/<test name>/."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from newsletter import tasks
from newsletter.models import Brand, Campaign, DigestSchedule
from tests.browser import violations
from tests.campaign_runs import tick_until_sent
from tests.factories import CampaignFactory, PostFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]


def background(locator) -> str:
    return locator.evaluate("(el) => getComputedStyle(el).backgroundColor")


@pytest.fixture
def site(live_server, settings):
    settings.SITE_URL = live_server.url
    return live_server.url


def sign_in(page, site, username: str) -> None:
    get_user_model().objects.create_superuser(
        username, f"{username}@example.org", "a long passphrase"
    )
    page.goto(f"{site}/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Site administration").wait_for()


def test_staff_change_the_brand_colour_and_see_it_in_the_preview_and_on_the_join_page(
    site,
    browser,
    page,
    screenshot,
    topics,
):
    draft = CampaignFactory(
        subject="December news",
        posts=[PostFactory(topic=topics["news"], title="A clinic opens")],
        topics=[topics["news"]],
    )
    sign_in(page, site, "comms")
    # Before: the default navy, in the admin header and the preview's masthead.
    assert background(page.locator("#header")) == "rgb(18, 53, 91)"
    assert page.locator("#site-name").inner_text().strip().endswith("· Engage")

    page.get_by_role("link", name="Brand").first.click()
    page.get_by_role("link", name="The charity's look").click()
    page.get_by_label("Organisation name").fill("Motor Neurone Care")
    page.get_by_label("Colour").fill("#7a1f5c")
    page.get_by_label("Donate page").fill("https://mncare.example/donate/")
    page.get_by_label("Donate button says").fill("Give today")
    page.locator("#id_links-0-label").fill("Privacy")
    page.locator("#id_links-0-url").fill("https://mncare.example/privacy/")
    screenshot(page, "brand settings filled in")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was changed successfully").wait_for()
    screenshot(page, "brand saved, header in the new colour")
    assert background(page.locator("#header")) == "rgb(122, 31, 92)"
    name_colour = "(el) => getComputedStyle(el).color"
    assert page.locator("#site-name a").evaluate(name_colour) == "rgb(255, 255, 255)"
    assert page.locator("#site-name").inner_text().strip() == "Motor Neurone Care · Engage"
    assert Brand.objects.get().colour == "#7a1f5c"

    page.goto(f"{site}/admin/newsletter/campaign/{draft.pk}/preview/")
    frame = page.frame_locator("iframe[title='HTML part of the email']")
    masthead = frame.locator(".brandbar")
    masthead.get_by_text("Motor Neurone Care").wait_for()
    assert background(masthead) == "rgb(122, 31, 92)"
    assert frame.get_by_role("link", name="Give today").get_attribute("href") == (
        "https://mncare.example/donate/"
    )
    screenshot(page, "preview in the new colour", full_page=False)

    page.goto(f"{site}/join/")
    header = page.locator(".site-header")
    assert background(header) == "rgb(122, 31, 92)"
    assert header.get_by_role("link", name="Motor Neurone Care").count() == 1
    assert page.get_by_role("link", name="Privacy").get_attribute("href") == (
        "https://mncare.example/privacy/"
    )
    screenshot(page, "join page in the new colour")

    # axe on the pages this changed, signed in as the same person (the CSP lets axe in here).
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    context.add_cookies(page.context.cookies())
    scan = context.new_page()
    for path in ("/join/", "/admin/newsletter/brand/1/change/", "/admin/"):
        scan.goto(site + path)
        assert violations(scan) == [], path
    context.close()


def test_the_demo_digest_as_delivered_shows_its_pictures_logo_and_donate_button(
    site,
    page,
    screenshot,
    sink,
    tmp_path,
    topics,
):
    call_command("seed_demo", password_file=tmp_path / "password.txt", stdout=io.StringIO())
    DigestSchedule.objects.update(next_run_at=timezone.now() - timedelta(minutes=1))
    tasks.tick()  # composes and schedules the digest
    digest = tick_until_sent(Campaign.objects.get(digest_schedule__isnull=False))

    # Chloé chose every topic: her copy has every section.
    everything = next(
        r.message
        for r in sink.received
        if r.rcpt_tos == ["chloe.martin@example.org"] and r.message["Subject"] == digest.subject
    )
    html = everything.get_body(("html",)).get_content()
    text = everything.get_body(("plain",)).get_content()
    assert "Donate today: https://www.engage-charity.example/donate/" in text
    assert "https://www.als.org/understanding-als/what-is-als" in text

    page.set_viewport_size({"width": 700, "height": 900})
    page.set_content(html, wait_until="load")
    images = page.locator("img")
    assert images.count() == 5  # the logo and four posts' pictures
    for i in range(images.count()):
        image = images.nth(i)
        assert image.get_attribute("src").startswith(f"{site}/"), image.get_attribute("src")
        assert image.evaluate("(img) => img.complete && img.naturalWidth > 0"), image.get_attribute(
            "src"
        )
        assert image.get_attribute("alt") is not None
    # The logo is decorative beside the charity's name; each picture says what it shows.
    assert page.locator("img[alt='']").count() == 1
    assert page.get_by_role("link", name="Donate today").count() == 1
    assert page.get_by_role("link", name="What is ALS?").get_attribute("href") == (
        "https://www.als.org/understanding-als/what-is-als"
    )
    screenshot(page, "demo digest as delivered")
    page.set_viewport_size({"width": 375, "height": 740})
    screenshot(page, "demo digest as delivered on a phone")
