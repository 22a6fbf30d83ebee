"""The charity's look: set in admin, seen in every email (HTML and text), on the public pages and
in the admin header; frozen into what a sender approved; hostile values refused."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from newsletter import delivery
from newsletter.campaigns import charts, scheduling
from newsletter.campaigns.snapshot import render_body
from newsletter.content import brand
from newsletter.models import Brand, BrandLogo, Campaign, Delivery, Post, Reference
from tests.campaign_runs import audience
from tests.factories import CampaignFactory, PostFactory

pytestmark = pytest.mark.django_db

LOGO = Path(settings.BASE_DIR, "static/demo/logo.png").read_bytes()
CHANGE_URL = "/admin/newsletter/brand/1/change/"


def brand_form(**fields) -> dict:
    """The brand's change form as a browser posts it, with two footer links."""
    data = {
        "organisation_name": "Motor Neurone Care",
        "colour": "#7a1f5c",
        "donate_url": "https://mncare.example/donate/",
        "donate_label": "Give today",
        "links-TOTAL_FORMS": "2",
        "links-INITIAL_FORMS": "0",
        "links-MIN_NUM_FORMS": "0",
        "links-MAX_NUM_FORMS": "6",
        "links-0-position": "1",
        "links-0-label": "About us",
        "links-0-url": "https://mncare.example/about/",
        "links-1-position": "2",
        "links-1-label": "Privacy",
        "links-1-url": "https://mncare.example/privacy/",
    }
    return {**data, **fields}


@pytest.fixture
def branded(admin_client, django_capture_on_commit_callbacks):
    """The brand as staff set it in admin, with a logo."""
    admin_client.get("/admin/newsletter/brand/")  # makes the row
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            CHANGE_URL,
            brand_form(logo_upload=SimpleUploadedFile("logo.png", LOGO, "image/png")),
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    return brand.current()


def test_with_no_brand_row_everything_looks_as_the_settings_say(client, topics):
    look = brand.current()
    assert look["name"] == settings.ORGANISATION_NAME
    assert (look["colour"], look["text_colour"]) == (brand.DEFAULT_COLOUR, "#ffffff")
    assert look["logo_url"] == "" and look["donate_url"] == "" and look["links"] == []
    page = client.get("/join/").content.decode()
    assert settings.ORGANISATION_NAME in page and "Donate" not in page


@pytest.mark.parametrize(
    "background, text",
    [
        ("#12355b", "#ffffff"),
        ("#ffd500", "#000000"),
        ("#ffffff", "#000000"),
        ("#7a1f5c", "#ffffff"),
    ],
)
def test_text_on_the_brand_colour_is_white_or_black_whichever_reads_better(background, text):
    assert brand.text_colour(background) == text
    assert brand.contrast(background, text) >= 4.5  # WCAG AA for normal text


def test_no_brand_colour_leaves_text_on_it_below_aa():
    worst = min(
        brand.contrast(colour, brand.text_colour(colour))
        for colour in (
            f"#{r:02x}{g:02x}{b:02x}"
            for r in range(0, 256, 15)
            for g in range(0, 256, 15)
            for b in range(0, 256, 15)
        )
    )
    assert worst >= 4.5


def test_a_delivered_campaign_carries_masthead_logo_donate_button_and_footer_links(
    branded, topics, sink, django_capture_on_commit_callbacks
):
    audience(topics, 2)
    campaign = CampaignFactory(posts=[PostFactory(topic=topics["news"])], topics=[topics["news"]])
    scheduling.campaign_schedule(campaign=campaign)  # due now
    # Beat's start, then the preparation and the batch it queues, in this process.
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.start_due_campaigns() == 1

    received = sink.wait_for(2)
    message = received[0].message
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()

    logo_url = re.search(r'<img src="([^"]+)" alt=""', html).group(1)
    assert re.search(r"<span[^>]*>Motor Neurone Care</span>", html)
    assert logo_url.startswith(f"{settings.SITE_URL}/brand/logo/")  # absolute: a mail client
    assert "background: #7a1f5c" in html and "color: #ffffff" in html
    assert re.search(
        r'<a class="button"[^>]* href="https://mncare.example/donate/">Give today</a>', html
    )
    assert '<a href="https://mncare.example/about/"' in html and ">Privacy</a>" in html
    assert "Give today: https://mncare.example/donate/" in text
    assert "About us: https://mncare.example/about/" in text
    assert "Privacy: https://mncare.example/privacy/" in text
    assert "Motor Neurone Care" in text


def test_the_logo_is_served_by_engage_for_good(branded, client):
    path = branded["logo_url"].removeprefix(settings.SITE_URL)
    response = client.get(path)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content == LOGO and "immutable" in response["Cache-Control"]
    assert (branded["logo_width"], branded["logo_height"]) == (96, 48)  # 192×96 shown 48 tall
    assert client.get("/brand/logo/" + "0" * 64).status_code == 404


def test_the_join_page_and_the_admin_header_show_the_brand(branded, client, admin_client):
    page = client.get("/join/").content.decode()
    assert "background: #7a1f5c" in page and "/brand/logo/" in page
    assert "<span>Motor Neurone Care</span>" in page
    assert 'href="https://mncare.example/privacy/"' in page and "Give today" in page
    header = admin_client.get("/admin/").content.decode()
    assert "Motor Neurone Care · Engage" in header and "Django administration" not in header
    assert "--header-bg: #7a1f5c" in header


def test_a_change_shows_at_once_on_the_cached_join_page(
    branded, client, admin_client, django_capture_on_commit_callbacks
):
    assert "background: #7a1f5c" in client.get("/join/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CHANGE_URL, brand_form(colour="#005a32", **{"links-TOTAL_FORMS": "0"}))
    page = client.get("/join/").content.decode()
    assert "background: #005a32" in page and "#7a1f5c" not in page


def test_a_scheduled_campaign_keeps_the_brand_it_was_approved_with(
    branded, topics, admin_client, django_capture_on_commit_callbacks
):
    post = PostFactory(topic=topics["news"])
    scheduled = CampaignFactory(posts=[post], topics=[topics["news"]])
    draft = CampaignFactory(posts=[post], topics=[topics["news"]])
    scheduling.campaign_schedule(campaign=scheduled, at=timezone.now() + timezone.timedelta(days=1))

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CHANGE_URL, brand_form(colour="#005a32", **{"links-TOTAL_FORMS": "0"}))

    slugs = frozenset({"news"})
    assert "background: #7a1f5c" in render_body(scheduled, slugs).html
    assert "background: #005a32" in render_body(draft, slugs).html  # previews: live


def test_references_link_to_their_sources_in_both_parts_and_in_the_archive(topics, client):
    article = PostFactory(topic=topics["education"], kind=Post.Kind.EDUCATION, title="Twitches")
    Reference.objects.create(
        post=article,
        position=1,
        title="What is ALS?",
        publisher="ALS Association",
        url="https://www.als.org/understanding-als/what-is-als",
    )
    Reference.objects.create(post=article, position=2, title="A book with no address", year=2018)
    campaign = CampaignFactory(posts=[article], topics=[topics["education"]], slug="twitches")
    scheduling.campaign_schedule(campaign=campaign, at=timezone.now() + timezone.timedelta(days=1))
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENT)

    body = render_body(campaign, frozenset({"education"}))
    link = re.compile(
        r'<a href="https://www.als.org/understanding-als/what-is-als"[^>]*>What is ALS\?</a>'
    )
    assert link.search(body.html)
    assert re.search(
        r"<li[^>]*>A book with no address \(2018\)</li>", body.html
    )  # no address: no link
    assert (
        "1. What is ALS?, ALS Association\n   https://www.als.org/understanding-als/what-is-als"
        in body.text
    )
    assert link.search(client.get("/archive/twitches/").content.decode())


# --- Hostile input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("colour", "red", "Give the colour as # and six hex digits."),
        ("colour", "#12345g", "Give the colour as # and six hex digits."),
        ("colour", "#123456;background:url(x)", "Ensure this value has at most 7 characters"),
        ("donate_url", "javascript:alert(1)", "Enter a valid URL."),
        ("donate_url", "ftp://mncare.example/", "Enter a valid URL."),
        ("links-0-url", "javascript:alert(document.cookie)", "Enter a valid URL."),
        ("links-1-url", "data:text/html,<script>alert(1)</script>", "Enter a valid URL."),
    ],
)
def test_a_hostile_brand_value_is_a_field_error_and_changes_nothing(
    field, value, error, branded, admin_client
):
    before = list(Brand.objects.values()), list(Brand.objects.get().links.values())
    response = admin_client.post(CHANGE_URL, brand_form(**{field: value}))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert (list(Brand.objects.values()), list(Brand.objects.get().links.values())) == before
    assert brand.current() == branded


@pytest.mark.parametrize(
    "upload, error",
    [
        (b"<svg onload=alert(1)></svg>", "The logo must be a PNG or JPEG image."),
        (b"GIF89a" + b"\0" * 100, "The logo must be a PNG or JPEG image."),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "The logo could not be read as an image."),
        (LOGO + b"\0" * brand.LOGO_MAX_BYTES, "The logo is too large: at most 200 KB."),
    ],
)
def test_a_logo_that_is_not_a_small_png_or_jpeg_is_refused(upload, error, branded, admin_client):
    logos = BrandLogo.objects.count()
    response = admin_client.post(
        CHANGE_URL, brand_form(logo_upload=SimpleUploadedFile("logo.png", upload, "image/png"))
    )
    assert response.status_code == 200 and error in response.content.decode()
    assert BrandLogo.objects.count() == logos
    assert brand.current() == branded


def test_a_jpeg_logo_is_read_for_its_size():
    # The smallest useful JPEG header: SOI, an APP0 segment, then SOF0 with 120×60.
    jpeg = (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        b"\xff\xc0\x00\x11\x08\x00\x3c\x00\x78\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    )
    assert brand.check_logo(jpeg) == ("image/jpeg", 120, 60)


# --- Charts ------------------------------------------------------------------------------------


def _bar_colour(svg: str, label: str) -> str:
    return re.search(rf">{label}</text><rect [^>]*fill=\"(#\w+)\"", svg).group(1)


def _legend_colour(svg: str, name: str) -> str:
    return re.search(rf"fill=\"(#\w+)\"/><text [^>]*>{name}</text>", svg).group(1)


def test_each_outcome_has_one_colour_in_every_chart(topics, admin_client):
    campaign = CampaignFactory(
        posts=[PostFactory(topic=topics["news"])],
        topics=[topics["news"]],
        status=Campaign.Status.SENT,
        started_at=timezone.now(),
    )
    now = timezone.now()
    for i, reader in enumerate(audience(topics, 4)):
        Delivery.objects.create(
            campaign=campaign,
            subscriber=reader,
            status=Delivery.Status.SENT,
            sent_at=now,
            opened_at=now,
            clicked_at=now if i else None,
        )
        if i == 0:
            reader.status, reader.unsubscribed_at = reader.Status.UNSUBSCRIBED, now
            reader.save()
    report = admin_client.get(f"/admin/newsletter/campaignreport/{campaign.pk}/change/")
    funnel, timeline = re.findall(r"<svg.*?</svg>", report.content.decode())[:2]
    growth = re.search(r"<svg.*?</svg>", admin_client.get("/admin/").content.decode()).group(0)

    for key, label in [
        ("sent", "Sent"),
        ("opened", "Opened"),
        ("clicked", "Clicked"),
        ("unsubscribed", "Unsubscribed"),
    ]:
        assert (
            _bar_colour(funnel, label)
            == _legend_colour(timeline, key)
            == charts.STATUS_COLOURS[key]
        )
    assert _legend_colour(growth, "unsubscribed") == charts.STATUS_COLOURS["unsubscribed"]
    assert (
        len(
            set(
                charts.STATUS_COLOURS[k]
                for k in ("sent", "opened", "clicked", "bounced", "unsubscribed")
            )
        )
        == 5
    )


def test_the_brand_list_shows_what_is_in_use_where_a_field_is_blank(client, superuser):
    Brand.objects.create(pk=1, colour="#7a1f5c")
    page = client.get("/admin/newsletter/brand/").content.decode()
    # No name typed: the list shows the one in use, not "-".
    assert f"{settings.ORGANISATION_NAME} (the default)" in page
    assert "#7a1f5c" in page and "#7a1f5c (the default)" not in page
    assert "none: the name stands alone" in page
    assert '<td class="field-name">-</td>' not in page


def test_the_brand_form_names_the_default_name_in_plain_words(client, superuser):
    Brand.objects.create(pk=1)
    page = client.get(CHANGE_URL).content.decode()
    assert "ORGANISATION_NAME" not in page
    assert "Leave blank to use the charity" in page
    assert settings.ORGANISATION_NAME in page
