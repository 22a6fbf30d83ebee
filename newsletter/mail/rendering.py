"""Campaign rendering: the hot path of delivery, from a snapshot (newsletter.campaigns.snapshot).

Each distinct body (one per set of topics a subscriber can see) is rendered and CSS-inlined once;
each recipient's message is then made by substituting a few placeholders (`personalise`).
The message around a body (headers, MIME) is built by newsletter.mail.messages.
"""

import functools
import re
from dataclasses import dataclass, field

import css_inline
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe

from newsletter.content import brand
from newsletter.content.posts import render_markdown
from newsletter.mail import tracked_links
from newsletter.models import Campaign, Snapshot, Subscriber
from newsletter.subscribers import tokens

# Placeholders survive template rendering and CSS inlining untouched, and never occur in content
# (post text is escaped, and '%%' followed by these names is vanishingly unlikely in prose).
FIRST_NAME = "%%ENGAGE_FIRST_NAME%%"
UNSUBSCRIBE_URL = "%%ENGAGE_UNSUBSCRIBE_URL%%"
PREFERENCES_URL = "%%ENGAGE_PREFERENCES_URL%%"

# A reader's own link about one post ("I'll be there", "Count me in"):
# %%ENGAGE_POSTLINK_rsvp_<post id>%%, replaced by a link signed for (reader, post).
POST_LINK_MARK = "%%ENGAGE_POSTLINK_"
_POST_LINK = re.compile(r"%%ENGAGE_POSTLINK_(rsvp|interest)_(\d+)%%")

# Whom a message greets when we do not know the subscriber's name.
DEFAULT_NAME = "friend"

_inliner = css_inline.CSSInliner(keep_style_tags=True)


def inline_css(html: str) -> str:
    return _inliner.inline(html)


@dataclass(frozen=True)
class RenderedBody:
    subject: str
    html: str  # CSS inlined, with placeholders
    text: str  # with placeholders
    preheader: str = ""
    topic_slugs: frozenset[str] = field(default_factory=frozenset)  # the sections it holds


@dataclass(frozen=True)
class Personalised:
    subject: str
    html: str
    text: str
    unsubscribe_url: str
    preferences_url: str = ""


def archive_url(campaign: Campaign) -> str:
    return tokens.absolute_url(reverse("archive-detail", args=[campaign.slug]))


def snapshot_sections(snapshot: Snapshot, topic_slugs: frozenset[str] | None) -> list[dict]:
    """The snapshot's sections a reader of `topic_slugs` sees (None: every section)."""
    return [
        section
        for section in snapshot.sections
        if topic_slugs is None or section["topic_slug"] in topic_slugs
    ]


def campaign_context(
    campaign: Campaign, snapshot: Snapshot, sections: list[dict], *, archive: bool
):
    look = brand.frozen_brand(snapshot.brand)
    return {
        "campaign": campaign,
        "subject": snapshot.subject,
        "preheader": snapshot.preheader,
        "intro_html": render_markdown(snapshot.intro),
        "intro_text": snapshot.intro.strip(),
        "greeting": greeting_line(snapshot.greeting),
        "sections": [
            {
                "heading": section["heading"],
                "topic_slug": section["topic_slug"],
                "posts": [
                    # Rendered by our own templates from sanitised content when it was frozen.
                    {**post, "html": mark_safe(post["html"])}  # noqa: S308
                    for post in section["posts"]
                ],
            }
            for section in sections
        ],
        "archive": archive,
        "first_name": FIRST_NAME,
        "unsubscribe_url": UNSUBSCRIBE_URL,
        "preferences_url": PREFERENCES_URL,
        "archive_url": archive_url(campaign),
        "brand": look,
        "organisation_name": look["name"],
        "organisation_address": settings.ORGANISATION_ADDRESS,
        "site_url": settings.SITE_URL,
    }


def greeting_line(greeting: str) -> str:
    """The greeting with the reader's name as a placeholder (filled by `personalise`)."""
    return " ".join(greeting.split()).replace("{first_name}", FIRST_NAME)


def render_snapshot(
    campaign: Campaign,
    snapshot: Snapshot,
    topic_slugs: frozenset[str] | None,
    *,
    tracked: bool = False,
    variant: str = "",
    text_alone: bool = False,
) -> RenderedBody | None:
    """`snapshot` as a reader of `topic_slugs` (None: every section) sees it, or None; with
    `variant`, that A/B letter's subject and preheader; `text_alone`: even with no section."""
    sections = snapshot_sections(snapshot, topic_slugs)
    if not sections and not text_alone:
        return None
    subject, preheader = snapshot.subject_of(variant)
    context = {
        **campaign_context(campaign, snapshot, sections, archive=False),
        "subject": subject,
        "preheader": preheader,
    }
    html = inline_css(render_to_string("emails/campaign-body.html", context))
    html = tracked_links.instrument_html(html, campaign=campaign, tracked=tracked)
    text = render_to_string("emails/campaign-body.txt", context)
    return RenderedBody(
        # Folded to one line: a line break in a subject would end the header.
        subject=" ".join(subject.split()),
        html=html,
        text=text,
        preheader=preheader,
        topic_slugs=frozenset(section["topic_slug"] for section in sections),
    )


def recipient_values(
    subscriber: Subscriber, *, delivery_id: int | None = None, body: RenderedBody | None = None
) -> dict[str, tuple[str, str]]:
    """A recipient's value for each placeholder, as (in the HTML part, in the text part).

    The one rule for what a placeholder becomes: `personalise` substitutes these here, and an
    ESP's batch call hands them over as merge data to be substituted there. With `body`, its
    post links too (each signed once per message: a link appears twice in each part).
    """
    name = " ".join(subscriber.first_name.split()) or DEFAULT_NAME
    unsubscribe = tokens.unsubscribe_url(subscriber.pk)
    preferences = tokens.preferences_url(subscriber.pk)
    values = {
        FIRST_NAME: (escape(name), name),
        UNSUBSCRIBE_URL: (unsubscribe, unsubscribe),
        PREFERENCES_URL: (preferences, preferences),
    }
    if delivery_id is not None:
        token = tokens.delivery_token(delivery_id)
        values[tracked_links.TRACK_PLACEHOLDER] = (token, token)
    for mark, purpose, post_id in post_link_marks(body) if body is not None else ():
        link = tokens.post_link(purpose, subscriber.pk, post_id)
        values[mark] = (link, link)
    return values


@functools.lru_cache(maxsize=64)
def post_link_marks(body: RenderedBody) -> tuple[tuple[str, str, int], ...]:
    """The reader-specific post links a body holds: (mark, purpose, post id), each once."""
    if POST_LINK_MARK not in body.html and POST_LINK_MARK not in body.text:
        return ()
    found = {m[0]: (m[0], m[1], int(m[2])) for m in _POST_LINK.finditer(body.html + body.text)}
    return tuple(found.values())


def personalise(
    body: RenderedBody, subscriber: Subscriber, *, delivery_id: int | None = None
) -> Personalised:
    values = recipient_values(subscriber, delivery_id=delivery_id, body=body)
    # Without a delivery (a test send, a preview) tracked links go straight to their targets.
    html = (
        body.html
        if delivery_id is not None
        else tracked_links.personalise_html(body.html, delivery_id=None)
    )
    text = body.text
    for placeholder, (in_html, in_text) in values.items():
        html = html.replace(placeholder, in_html)
        text = text.replace(placeholder, in_text)
    return Personalised(
        subject=body.subject,
        html=html,
        text=text,
        unsubscribe_url=values[UNSUBSCRIBE_URL][1],
        preferences_url=values[PREFERENCES_URL][1],
    )
