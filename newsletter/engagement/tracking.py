"""Open and click tracking that respects the reader: recording a click (the signed redirect) and
an open (the pixel), each only where newsletter.subscribers.policy.may_track allows.

Off unless staff switch it on per campaign (Campaign.track_opens / track_clicks), and never for a
subscriber who declined it (Subscriber.allow_tracking). The links and the pixel are put in the
body by newsletter.mail.tracked_links; a redirect link carries the target URL and a signature over
(campaign id, URL) (newsletter.subscribers.tokens): the redirect goes only to a link that was in
that campaign, never to a URL someone else put in the query string.
"""

from django.db import transaction
from django.utils import timezone

from newsletter.mail.tracked_links import is_web_url
from newsletter.models import Campaign, Click, Delivery
from newsletter.subscribers import policy, tokens


class BadLink(Exception):
    """A forged or altered tracking link."""


def _delivery_id(token: str) -> int:
    try:
        return tokens.read_delivery_token(token)
    except tokens.BadToken as error:
        raise BadLink("This link is not valid.") from error


# --- Recording (the redirect and the pixel) -------------------------------------------------


def click_follow(*, token: str, url: str, signature: str, record: bool = True) -> str:
    """The URL to redirect to, after recording the click where allowed; BadLink when the token or
    the signature is not ours, or the URL is not one the campaign linked to."""
    delivery_id = _delivery_id(token)
    delivery = Delivery.objects.select_related("campaign", "subscriber").filter(pk=delivery_id)
    delivery = delivery.first()
    if delivery is None:
        raise BadLink("This link is not valid.")
    if not (is_web_url(url) and tokens.link_signature_valid(delivery.campaign_id, url, signature)):
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
        delivery_id = _delivery_id(token)
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
