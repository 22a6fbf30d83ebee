"""Campaign rendering: the hot path of delivery.

Each distinct body (one per set of topics a subscriber can see) is rendered and CSS-inlined once;
each recipient's message is then made by substituting a few placeholders (`personalise`).
"""

from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import escape

from . import tokens
from .emails import inline_css
from .models import Campaign, Subscriber

# Placeholders survive template rendering and CSS inlining untouched, and never occur in content
# (post text is escaped, and '%%' followed by these names is vanishingly unlikely in prose).
FIRST_NAME = "%%ENGAGE_FIRST_NAME%%"
UNSUBSCRIBE_URL = "%%ENGAGE_UNSUBSCRIBE_URL%%"
PREFERENCES_URL = "%%ENGAGE_PREFERENCES_URL%%"


@dataclass(frozen=True)
class RenderedBody:
    subject: str
    html: str  # CSS inlined, with placeholders
    text: str  # with placeholders


@dataclass(frozen=True)
class Personalised:
    subject: str
    html: str
    text: str
    unsubscribe_url: str


def render_body(campaign: Campaign, topic_slugs: frozenset[str]) -> RenderedBody | None:
    """The campaign as a subscriber of `topic_slugs` sees it, or None when nothing is for them.

    Does not depend on the recipient: call it once per distinct topic set and reuse the result.
    """
    items = [
        item
        for item in campaign.items.select_related("post__topic").order_by("position")
        if item.post.topic.slug in topic_slugs
    ]
    if not items:
        return None
    context = {
        "campaign": campaign,
        "posts": [item.post for item in items],
        "first_name": FIRST_NAME,
        "unsubscribe_url": UNSUBSCRIBE_URL,
        "preferences_url": PREFERENCES_URL,
        "organisation_name": settings.ORGANISATION_NAME,
        "organisation_address": settings.ORGANISATION_ADDRESS,
        "site_url": settings.SITE_URL,
    }
    html = inline_css(render_to_string("emails/campaign-body.html", context))
    text = render_to_string("emails/campaign-body.txt", context)
    return RenderedBody(subject=campaign.subject, html=html, text=text)


def personalise(body: RenderedBody, subscriber: Subscriber) -> Personalised:
    unsubscribe = tokens.unsubscribe_url(subscriber.pk)
    preferences = tokens.preferences_url(subscriber.pk)
    name = subscriber.first_name or "friend"
    html = (
        body.html.replace(FIRST_NAME, escape(name))
        .replace(UNSUBSCRIBE_URL, unsubscribe)
        .replace(PREFERENCES_URL, preferences)
    )
    text = (
        body.text.replace(FIRST_NAME, name)
        .replace(UNSUBSCRIBE_URL, unsubscribe)
        .replace(PREFERENCES_URL, preferences)
    )
    return Personalised(subject=body.subject, html=html, text=text, unsubscribe_url=unsubscribe)
