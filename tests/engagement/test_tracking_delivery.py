"""Tracking through the delivery engine (needs the rendering/personalise/delivery hooks)."""

import re
from html import unescape
from urllib.parse import urlsplit

from django.utils import timezone

from newsletter import delivery
from newsletter.models import Campaign, Click, Delivery
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory


def test_a_tracked_campaign_tracks_only_readers_who_allow_it(
    client, topics, sink, django_capture_on_commit_callbacks
):
    post = PostFactory(topic=topics["news"], url="https://charity.example.org/p/1/")
    campaign = CampaignFactory(
        posts=[post],
        topics=[topics["news"]],
        status=Campaign.Status.SENDING,
        started_at=timezone.now(),
        track_clicks=True,
        track_opens=True,
    )
    allows = SubscriberFactory(topics=[topics["news"]], active=True, allow_tracking=True)
    declines = SubscriberFactory(topics=[topics["news"]], active=True, allow_tracking=False)
    with django_capture_on_commit_callbacks():
        delivery.prepare(campaign.pk)

    delivery.send_batch(list(Delivery.objects.values_list("pk", flat=True)))

    html = {r.rcpt_tos[0]: r.message.get_body(("html",)).get_content() for r in sink.wait_for(2)}
    assert "/t/c/" not in html[declines.email] and "/t/o/" not in html[declines.email]
    assert 'href="https://charity.example.org/p/1/"' in html[declines.email]
    tracked = [unescape(h) for h in re.findall(r'href="([^"]*/t/c/[^"]*)"', html[allows.email])]
    assert tracked and "%%ENGAGE" not in html[allows.email]
    link = urlsplit(tracked[0])
    response = client.get(f"{link.path}?{link.query}")
    assert response.status_code == 302
    pixel = urlsplit(re.findall(r'src="([^"]*/t/o/[^"]*)"', html[allows.email])[0]).path
    assert client.get(pixel).status_code == 200
    row = Delivery.objects.get(subscriber=allows)
    assert row.clicked_at and row.opened_at
    assert Click.objects.get().delivery == row
