"""Privacy-respecting tracking: signed redirects to the campaign's own links, a pixel, and
nothing at all for readers who declined."""

import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings

from newsletter.campaigns.snapshot import render_body
from newsletter.mail import rendering, tracked_links
from newsletter.models import Click, Delivery
from newsletter.subscribers import policy, tokens
from tests import ledger

POST_URL = "https://charity.example.org/news/fasciculations/"


@pytest.fixture
def campaign(topics):
    article = ledger.post(topics["news"], title="Twitching muscles", url=POST_URL)
    return ledger.campaign(
        topics["news"], posts=[article], track_clicks=True, track_opens=True, intro="Hello"
    )


@pytest.fixture
def reader():
    return ledger.subscriber("reader@example.org", first_name="Ann")


@pytest.fixture
def delivery(campaign, reader):
    return ledger.delivery(campaign, reader)


def _body(campaign, *, tracked):
    """What the delivery engine does per variant: render once, instrument once."""
    body = render_body(campaign, frozenset({"news"}))
    return tracked_links.instrument_html(body.html, campaign=campaign, tracked=tracked)


def _personal_html(campaign, delivery):
    html = _body(campaign, tracked=policy.may_track(campaign, delivery.subscriber))
    return tracked_links.personalise_html(html, delivery_id=delivery.pk)


def _hrefs(html):
    return [unescape(h) for h in re.findall(r'href="([^"]*)"', html)]


def _click_path(html, target=POST_URL):
    """The path (and query) of the tracked link in `html` that leads to `target`."""
    for href in _hrefs(html):
        parts = urlsplit(href)
        if parts.path.startswith("/t/c/") and parse_qs(parts.query)["u"] == [target]:
            return f"{parts.path}?{parts.query}"
    raise AssertionError(f"no tracked link to {target}")


def _pixel_path(html):
    (src,) = re.findall(r'src="([^"]*/t/o/[^"]*)"', html)
    return urlsplit(unescape(src)).path


# --- Rendering ------------------------------------------------------------------------------


def test_campaign_links_are_rewritten_but_subscription_and_archive_links_are_not(campaign):
    html = _body(campaign, tracked=True)
    hrefs = _hrefs(html)

    assert POST_URL not in hrefs
    tracked = [h for h in hrefs if h.startswith(f"{settings.SITE_URL}/t/c/")]
    assert tracked and all(tracked_links.TRACK_PLACEHOLDER in h for h in tracked)
    assert rendering.UNSUBSCRIBE_URL in hrefs
    assert rendering.PREFERENCES_URL in hrefs
    assert rendering.archive_url(campaign) in hrefs
    assert html.count(f"/t/o/{tracked_links.TRACK_PLACEHOLDER}.gif") == 1


def test_rewrite_links_leaves_non_web_links_and_keeps_html_escaping():
    html = (
        '<a href="mailto:help@example.org">mail</a> '
        '<a class="x" href="https://shop.example.org/a?b=1&amp;c=2">shop</a> '
        "<a href='tel:+441234'>call</a>"
    )
    out = tracked_links.rewrite_links(html, campaign_id=7)

    assert 'href="mailto:help@example.org"' in out
    assert "href='tel:+441234'" in out
    (tracked,) = [h for h in _hrefs(out) if "/t/c/" in h]
    assert parse_qs(urlsplit(tracked).query)["u"] == ["https://shop.example.org/a?b=1&c=2"]
    assert "&amp;s=" in out  # the rewritten href is still valid HTML


def test_a_subscriber_who_declined_tracking_gets_untracked_links_and_no_pixel(
    campaign, delivery, reader
):
    reader.allow_tracking = False
    reader.save(update_fields=["allow_tracking"])

    html = _personal_html(campaign, delivery)

    assert not policy.may_track(campaign, reader)
    assert POST_URL in _hrefs(html)
    assert "/t/c/" not in html and "/t/o/" not in html
    assert tokens.delivery_token(delivery.pk) not in html


def test_a_campaign_without_tracking_renders_untracked(topics, reader):
    plain = ledger.campaign(topics["news"], posts=[ledger.post(topics["news"], url=POST_URL)])

    assert not policy.may_track(plain, reader)
    assert tracked_links.instrument_html("<a href='x'>", campaign=plain, tracked=False) == (
        "<a href='x'>"
    )
    html = _body(plain, tracked=policy.may_track(plain, reader))
    assert "/t/c/" not in html and "/t/o/" not in html


def test_personalising_puts_in_the_recipients_token_or_restores_links_without_a_delivery(
    campaign, delivery
):
    tracked = _body(campaign, tracked=True)

    personal = tracked_links.personalise_html(tracked, delivery_id=delivery.pk)
    preview = tracked_links.personalise_html(tracked, delivery_id=None)

    assert tracked_links.TRACK_PLACEHOLDER not in personal
    assert f"/t/c/{tokens.delivery_token(delivery.pk)}/" in personal
    assert POST_URL in _hrefs(preview)
    assert "/t/c/" not in preview and "/t/o/" not in preview


# --- The click redirect ---------------------------------------------------------------------


def test_a_click_redirects_to_the_link_and_is_recorded_once(client, campaign, delivery):
    path = _click_path(_personal_html(campaign, delivery))

    first = client.get(path)
    delivery.refresh_from_db()
    clicked_at = delivery.clicked_at
    second = client.get(path)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == POST_URL
    assert "no-cache" in first["Cache-Control"]
    click = Click.objects.get()
    assert (click.delivery_id, click.url, click.post.url) == (delivery.pk, POST_URL, POST_URL)
    delivery.refresh_from_db()
    assert clicked_at is not None and delivery.clicked_at == clicked_at


def test_the_redirect_refuses_a_foreign_url(client, campaign, delivery):
    path = _click_path(_personal_html(campaign, delivery))
    parts = urlsplit(path)
    query = parse_qs(parts.query)
    foreign = {"u": "https://evil.example.net/phish", "s": query["s"][0]}

    response = client.get(f"{parts.path}?{urlencode(foreign)}")

    assert response.status_code == 400
    assert "Location" not in response
    assert Click.objects.count() == 0


def test_the_redirect_refuses_a_forged_signature_or_token(client, campaign, delivery):
    path = _click_path(_personal_html(campaign, delivery))
    parts = urlsplit(path)
    forged_signature = {"u": POST_URL, "s": "A" * 43}
    other_campaign = {"u": POST_URL, "s": tokens.link_signature(campaign.pk + 1, POST_URL)}
    token = tokens.delivery_token(delivery.pk)
    forged_token = parts.path.replace(token, f"{delivery.pk + 1}:{token.split(':')[1]}")

    responses = [
        client.get(f"{parts.path}?{urlencode(forged_signature)}"),
        client.get(f"{parts.path}?{urlencode(other_campaign)}"),
        client.get(f"{forged_token}?{parts.query}"),
    ]

    assert [r.status_code for r in responses] == [400, 400, 400]
    assert Click.objects.count() == 0
    delivery.refresh_from_db()
    assert delivery.clicked_at is None


@pytest.mark.parametrize(
    "path",
    [
        "/t/c/garbage/",
        "/t/c/garbage/?u=https://x.example&s=y",
        "/t/c/1:abc/?u=&s=",
        "/t/c/%FF%FE/?u=%FF&s=%00",
        "/t/c/" + "9" * 40 + "/?u=javascript:alert(1)&s=x",
    ],
)
def test_garbage_click_links_are_a_400_never_a_500(client, path, delivery):
    assert client.get(path).status_code == 400


def test_a_head_request_redirects_without_recording(client, campaign, delivery):
    path = _click_path(_personal_html(campaign, delivery))

    response = client.head(path)

    assert response.status_code == 302
    assert Click.objects.count() == 0


def test_a_click_after_declining_tracking_redirects_but_records_nothing(
    client, campaign, delivery, reader
):
    path = _click_path(_personal_html(campaign, delivery))
    reader.allow_tracking = False
    reader.save(update_fields=["allow_tracking"])

    response = client.get(path)

    assert response.status_code == 302 and response["Location"] == POST_URL
    assert Click.objects.count() == 0
    delivery.refresh_from_db()
    assert delivery.clicked_at is None


# --- The open pixel -------------------------------------------------------------------------


def test_the_pixel_is_a_gif_that_records_the_first_open(client, campaign, delivery):
    path = _pixel_path(_personal_html(campaign, delivery))

    first = client.get(path)
    delivery.refresh_from_db()
    opened_at = delivery.opened_at
    second = client.get(path)

    assert first.status_code == second.status_code == 200
    assert first["Content-Type"] == "image/gif"
    assert first.content.startswith(b"GIF89a")
    assert "no-store" in first["Cache-Control"]
    assert opened_at is not None
    delivery.refresh_from_db()
    assert delivery.opened_at == opened_at


@pytest.mark.parametrize("token", ["garbage", "1:forged", "%FF", "1" * 30])
def test_a_garbage_pixel_token_still_gets_a_gif_and_records_nothing(client, token, delivery):
    response = client.get(f"/t/o/{token}.gif")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert not Delivery.objects.filter(opened_at__isnull=False).exists()


def test_the_pixel_records_nothing_for_a_campaign_that_does_not_track_opens(
    client, campaign, delivery
):
    path = _pixel_path(_personal_html(campaign, delivery))
    campaign.track_opens = False
    campaign.save(update_fields=["track_opens"])

    assert client.get(path).status_code == 200
    delivery.refresh_from_db()
    assert delivery.opened_at is None
