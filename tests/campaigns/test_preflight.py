"""The accessibility preflight (issue 25): each kind of finding, where to fix it, and the count on
the confirmation step; staff can still send."""

import re

import pytest
from django.urls import reverse

from newsletter.campaigns import preflight
from newsletter.models import Brand, Campaign
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


def campaign_with(topics, *, intro="", **post_fields):
    post = PostFactory(topic=topics["news"], title="Clinic news", **post_fields)
    SubscriberFactory(active=True, topics=[topics["news"]])
    return CampaignFactory(posts=[post], topics=[topics["news"]], intro=intro)


def whats(findings) -> list[str]:
    return [finding.what for finding in findings]


def test_a_clean_campaign_has_no_findings(topics):
    campaign = campaign_with(
        topics,
        intro="Welcome to our [winter programme](https://example.org/winter).",
        image_url="https://example.org/walk.png",
        image_alt="Walkers by the river",
    )

    assert preflight.check(campaign) == []


@pytest.mark.parametrize(
    ("fields", "found"),
    [
        (
            {"image_url": "https://example.org/IMG_2041.jpg", "image_alt": ""},
            "no alt text (IMG_2041.jpg)",
        ),
        (
            {"image_url": "https://example.org/x.png", "image_alt": "IMG_2041.jpg"},
            "alt text is “IMG_2041.jpg”",
        ),
        ({"image_url": "https://example.org/x.png", "image_alt": "image"}, "alt text is “image”"),
        ({"intro": "More [here](https://example.org)."}, "A link says only “here”"),
        ({"intro": "To book, [click here](https://example.org)."}, "A link says only “click here”"),
        ({"intro": "#### Dates\n\nSoon."}, "A heading jumps from level 1 to 4"),
        ({"intro": "PLEASE BOOK YOUR PLACE BEFORE FRIDAY."}, "A paragraph is in capitals"),
    ],
)
def test_each_barrier_is_found_with_where_to_fix_it(topics, fields, found):
    campaign = campaign_with(topics, **fields)

    findings = preflight.check(campaign)

    assert len(findings) == 1 and found in findings[0].what, whats(findings)
    finding = findings[0]
    if "intro" in fields:
        assert finding.where == "Intro" and finding.url.endswith("#id_intro")
    else:
        assert finding.where == "Post “Clinic news”"
        assert finding.url == reverse(
            "admin:newsletter_post_change", args=[campaign.items.get().post_id]
        )
    assert finding.why


def test_a_pale_brand_colour_is_found_a_dark_one_is_not(topics):
    campaign = campaign_with(topics)
    Brand.objects.create(pk=1, colour="#ffe066")

    [finding] = preflight.check(campaign)
    assert finding.where == "Brand" and "#ffe066" in finding.what and "white card" in finding.what

    Brand.objects.filter(pk=1).update(colour="#0b5cad")
    from django.core.cache import cache

    cache.clear()
    assert preflight.check(campaign) == []


def test_the_preview_lists_the_findings_and_the_confirmation_counts_them_and_still_sends(
    client, superuser, topics
):
    campaign = campaign_with(
        topics,
        image_url="https://example.org/IMG_2041.jpg",
        image_alt="",
        intro="[Click here](https://example.org)",
    )

    preview = client.get(reverse("admin:campaign-preview", args=[campaign.pk])).content.decode()
    assert "Accessibility check: 2 findings" in preview
    assert "no alt text (IMG_2041.jpg)" in preview and "A link says only “Click here”" in preview

    schedule = reverse("admin:campaign-schedule", args=[campaign.pk])
    asked = client.post(schedule, {"at": "2030-06-01T14:05", "timezone": "Europe/London"})
    page = asked.content.decode()
    assert "The accessibility check found 2 problems that remain" in page
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    client.post(schedule, hidden)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED


@pytest.mark.parametrize(
    ("intro", "alone"),
    [
        ("![The walk's poster: Sunday 10:00, Leeds](https://example.org/poster.png)", 1),
        ("Our walk is on Sunday.\n\n![Walkers by the river](https://example.org/walk.png)", 0),
        ("![Walkers](https://example.org/a.png)\n\n![The river](https://example.org/b.png)", 2),
        ("![Walkers](https://example.org/a.png) ![River](https://example.org/b.png) Join us!", 1),
    ],
)
def test_an_image_without_text_around_it_is_found(topics, intro, alone):
    campaign = campaign_with(topics, intro=intro)

    findings = [f for f in preflight.check(campaign) if "no text around it" in f.what]

    assert len(findings) == alone, whats(preflight.check(campaign))
    for finding in findings:
        assert finding.where == "Intro" and finding.url.endswith("#id_intro")
        assert "say in the text what the image says" in finding.why
