"""Open and click tracking that respects the reader.

Off unless staff switch it on per campaign (Campaign.track_opens / track_clicks), and never for a
subscriber who declined it (Subscriber.allow_tracking). It keeps "render once, substitute per
recipient": at render time `instrument_html` rewrites the campaign's links to signed redirect links
and adds the pixel, with TRACK_PLACEHOLDER where the recipient's token goes; `personalise_html`
then puts in each recipient's `delivery_token`. A subscriber who declined gets the untracked
variant (a body rendered with tracked=False), so nothing in their message can identify a click.

A redirect link carries the target URL and a signature over (campaign id, URL): the redirect goes
only to a link that was in that campaign, never to a URL someone else put in the query string.
"""

import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from newsletter.models import Campaign, Click, Delivery, Subscriber
from newsletter.subscribers import policy

TRACK_PLACEHOLDER = "%%ENGAGE_TRACK%%"

# Links that manage the subscription or show the web copy are the reader's own business.
UNTRACKED_PATHS = ("/unsubscribe/", "/preferences/", "/confirm/", "/archive/", "/t/")

_signer = signing.Signer(salt="engage.track")
_link_signer = signing.Signer(salt="engage.track-link")
_HREF = re.compile(r"""(<a\b[^>]*?\shref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


class BadLink(Exception):
    """A forged or altered tracking link."""


# --- Rendering (once per variant) -----------------------------------------------------------


def is_tracked(campaign: Campaign, subscriber: Subscriber) -> bool:
    """Whether this subscriber's copy of the campaign is the tracked variant."""
    return policy.may_track(campaign, subscriber)


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


# --- Personalising (once per recipient) -----------------------------------------------------


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


def delivery_token(delivery_id: int) -> str:
    return _signer.sign(str(delivery_id))


def read_delivery_token(token: str) -> int:
    try:
        return int(_signer.unsign(token))
    except (signing.BadSignature, ValueError) as error:
        raise BadLink("This link is not valid.") from error


def link_signature(campaign_id: int, url: str) -> str:
    return _link_signer.sign(_link_value(campaign_id, url)).rpartition(_link_signer.sep)[2]


def link_signature_valid(campaign_id: int, url: str, signature: str) -> bool:
    # unsign() also accepts signatures made with SECRET_KEY_FALLBACKS, so a key rotation does not
    # break the links in emails already sent.
    try:
        _link_signer.unsign(f"{_link_value(campaign_id, url)}{_link_signer.sep}{signature}")
    except signing.BadSignature:
        return False
    return True


def _link_value(campaign_id: int, url: str) -> str:
    return f"{campaign_id}\n{url}"


# --- Recording (the redirect and the pixel) -------------------------------------------------


def click_follow(*, token: str, url: str, signature: str, record: bool = True) -> str:
    """The URL to redirect to, after recording the click where allowed; BadLink when the token or
    the signature is not ours, or the URL is not one the campaign linked to."""
    delivery_id = read_delivery_token(token)
    delivery = Delivery.objects.select_related("campaign", "subscriber").filter(pk=delivery_id)
    delivery = delivery.first()
    if delivery is None:
        raise BadLink("This link is not valid.")
    if not (_is_web_url(url) and link_signature_valid(delivery.campaign_id, url, signature)):
        raise BadLink("This link does not lead anywhere we sent.")
    if record and policy.may_track(delivery.campaign, delivery.subscriber, policy.CLICKS):
        click_record(delivery=delivery, url=url)
    return url


def click_record(*, delivery: Delivery, url: str) -> bool:
    """One Click per (delivery, url); the delivery's clicked_at is the first one. True if new."""
    if len(url) > Click._meta.get_field("url").max_length:
        return False
    with transaction.atomic():
        _, created = Click.objects.get_or_create(
            delivery=delivery, url=url, defaults={"post": _post_for(delivery.campaign, url)}
        )
        if created:
            Delivery.objects.filter(pk=delivery.pk, clicked_at__isnull=True).update(
                clicked_at=timezone.now()
            )
    return created


def open_record(*, token: str) -> bool:
    """Record the first open of a delivery where allowed. True if this was it; never raises for
    a bad token (the pixel answers the same either way)."""
    try:
        delivery_id = read_delivery_token(token)
    except BadLink:
        return False
    delivery = Delivery.objects.select_related("campaign", "subscriber").filter(pk=delivery_id)
    delivery = delivery.first()
    if delivery is None or not policy.may_track(
        delivery.campaign, delivery.subscriber, policy.OPENS
    ):
        return False
    return bool(
        Delivery.objects.filter(pk=delivery.pk, opened_at__isnull=True).update(
            opened_at=timezone.now()
        )
    )


def _post_for(campaign: Campaign, url: str):
    items = campaign.items.select_related("post").prefetch_related("post__references")
    for item in items:
        post = item.post
        links = {post.url, post.registration_url, *(ref.url for ref in post.references.all())}
        if url in links:
            return post
    return None


def _path(name: str) -> str:
    # reverse() would percent-encode the placeholder's '%'.
    return reverse(name, args=["TOKEN"]).replace("TOKEN", TRACK_PLACEHOLDER)


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _trackable(url: str) -> bool:
    if TRACK_PLACEHOLDER in url or "%%ENGAGE_" in url or not _is_web_url(url):
        return False
    parts, site = urlsplit(url), urlsplit(settings.SITE_URL)
    own_site = parts.netloc.lower() == site.netloc.lower()
    return not (own_site and parts.path.startswith(UNTRACKED_PATHS))
