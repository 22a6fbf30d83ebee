"""Tracked links and the open pixel in a rendered campaign body.

At render time `instrument_html` rewrites the campaign's links to signed redirect links and adds
the pixel, with TRACK_PLACEHOLDER where the recipient's token goes; `personalise_html` then puts in
each recipient's delivery token (newsletter.subscribers.tokens). Whether a reader's copy is tracked
at all is newsletter.subscribers.policy.may_track; recording a click or an open is
newsletter.engagement.tracking.
"""

import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils.html import escape

from newsletter.models import Campaign
from newsletter.subscribers.tokens import delivery_token, link_signature

TRACK_PLACEHOLDER = "%%ENGAGE_TRACK%%"

# Links that manage the subscription or show the web copy are the reader's own business.
UNTRACKED_PATHS = ("/unsubscribe/", "/preferences/", "/confirm/", "/archive/", "/t/")

_HREF = re.compile(r"""(<a\b[^>]*?\shref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def instrument_html(html: str, *, campaign: Campaign, tracked: bool) -> str:
    """The rendered HTML with tracked links and the pixel, as the campaign asks; unchanged when
    `tracked` is False."""
    if not tracked:
        return html
    if campaign.track_clicks:
        html = rewrite_links(html, campaign_id=campaign.pk)
    if campaign.track_opens:
        html = add_open_pixel(html)
    return html


def rewrite_links(html: str, *, campaign_id: int) -> str:
    """Every http(s) link of the campaign's own content through the click redirect."""

    def rewrite(match: re.Match) -> str:
        url = unescape(match.group(3)).strip()
        if not _trackable(url):
            return match.group(0)
        quote = match.group(2)
        return f"{match.group(1)}{quote}{escape(tracked_url(url, campaign_id=campaign_id))}{quote}"

    return _HREF.sub(rewrite, html)


def tracked_url(url: str, *, campaign_id: int) -> str:
    query = urlencode({"u": url, "s": link_signature(campaign_id, url)})
    return f"{settings.SITE_URL}{_path('track-click')}?{query}"


def open_pixel_html() -> str:
    src = f"{settings.SITE_URL}{_path('track-open')}"
    return (
        f'<img src="{src}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0;">'
    )


def add_open_pixel(html: str) -> str:
    pixel = open_pixel_html()
    if _BODY_END.search(html):
        return _BODY_END.sub(lambda m: pixel + m.group(0), html, count=1)
    return html + pixel


def personalise_html(html: str, *, delivery_id: int | None) -> str:
    """Put the recipient's token into a tracked body. Without a delivery (a test send, a
    preview) the links go straight to their targets and the pixel is dropped."""
    if TRACK_PLACEHOLDER not in html:
        return html
    if delivery_id is None:
        return untrack(html)
    return html.replace(TRACK_PLACEHOLDER, delivery_token(delivery_id))


def untrack(html: str) -> str:
    click_prefix = f"{settings.SITE_URL}{_path('track-click')}?"
    pixel = open_pixel_html()

    def restore(match: re.Match) -> str:
        href = unescape(match.group(3))
        if not href.startswith(click_prefix):
            return match.group(0)
        target = parse_qs(href[len(click_prefix) :]).get("u", [""])[0]
        return f"{match.group(1)}{match.group(2)}{escape(target)}{match.group(2)}"

    return _HREF.sub(restore, html.replace(pixel, ""))


def _path(name: str) -> str:
    # reverse() would percent-encode the placeholder's '%'.
    return reverse(name, args=["TOKEN"]).replace("TOKEN", TRACK_PLACEHOLDER)


def is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _trackable(url: str) -> bool:
    if TRACK_PLACEHOLDER in url or "%%ENGAGE_" in url or not is_web_url(url):
        return False
    parts, site = urlsplit(url), urlsplit(settings.SITE_URL)
    own_site = parts.netloc.lower() == site.netloc.lower()
    return not (own_site and parts.path.startswith(UNTRACKED_PATHS))
