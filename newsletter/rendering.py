"""Campaign rendering: the hot path of delivery.

Each distinct body (one per set of topics a subscriber can see) is rendered and CSS-inlined once;
each recipient's message is then made by substituting a few placeholders (`personalise`).
The message around a body (headers, MIME) is built by newsletter.messages.
"""

from dataclasses import dataclass, field

import css_inline
import markdown
import nh3
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from . import tokens, tracking
from .models import Campaign, Post, Subscriber

# Placeholders survive template rendering and CSS inlining untouched, and never occur in content
# (post text is escaped, and '%%' followed by these names is vanishingly unlikely in prose).
FIRST_NAME = "%%ENGAGE_FIRST_NAME%%"
UNSUBSCRIBE_URL = "%%ENGAGE_UNSUBSCRIBE_URL%%"
PREFERENCES_URL = "%%ENGAGE_PREFERENCES_URL%%"

# Whom a message greets when we do not know the subscriber's name.
DEFAULT_NAME = "friend"

# A post without a summary shows the start of its body: a digest of ten long articles must stay
# under Gmail's 102 KB clipping size, and the full text is one click away.
EXCERPT_WORDS = 60

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h2", "h3", "h4", "hr", "i", "img", "li",
    "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}


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


@dataclass(frozen=True)
class Section:
    topic_slug: str
    heading: str
    posts: list[Post]


def render_markdown(text: str) -> SafeString:
    """Markdown to HTML that is safe to put in an email or a page: nh3 drops scripts, handlers,
    styles and unknown tags, and every link gets rel="noopener"."""
    html = markdown.markdown(text or "", extensions=["extra", "sane_lists"], output_format="html")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above


def post_excerpt(post: Post) -> SafeString:
    """What a message shows of a post: its summary, or the start of its body."""
    if post.summary:
        return render_markdown(post.summary)
    html = Truncator(render_markdown(post.body)).words(EXCERPT_WORDS, html=True)
    return mark_safe(html)  # noqa: S308 - truncation of sanitised HTML


def post_link(post: Post) -> str:
    return post.url or settings.SITE_URL + "/"


def archive_url(campaign: Campaign) -> str:
    return tokens.absolute_url(reverse("archive-detail", args=[campaign.slug]))


def event_ics_url(post: Post) -> str:
    return tokens.absolute_url(reverse("event-ics", args=[post.slug]))


def campaign_sections(campaign: Campaign, topic_slugs: frozenset[str] | None) -> list[Section]:
    """The campaign's posts grouped by topic, for a reader of `topic_slugs` (None: every topic).

    Sections come in the order of their first post in the campaign; a section exists only for a
    topic that is both the reader's and in the campaign's audience.
    """
    audience = {topic.slug for topic in campaign.topics.all()}
    wanted = audience if topic_slugs is None else audience & set(topic_slugs)
    sections: dict[str, Section] = {}
    items = campaign.items.select_related("post__topic").prefetch_related("post__references")
    for item in items.order_by("position", "id"):
        topic = item.post.topic
        if topic.slug not in wanted:
            continue
        if topic.slug not in sections:
            sections[topic.slug] = Section(topic.slug, topic.name, [])
        sections[topic.slug].posts.append(item.post)
    return list(sections.values())


def _context(campaign: Campaign, sections: list[Section], *, archive: bool) -> dict:
    return {
        "campaign": campaign,
        "subject": campaign.subject,
        "preheader": campaign.preheader,
        "intro_html": render_markdown(campaign.intro),
        "intro_text": campaign.intro.strip(),
        "sections": [
            {
                "heading": section.heading,
                "topic_slug": section.topic_slug,
                "posts": [_post_context(post) for post in section.posts],
            }
            for section in sections
        ],
        "archive": archive,
        "first_name": FIRST_NAME,
        "unsubscribe_url": UNSUBSCRIBE_URL,
        "preferences_url": PREFERENCES_URL,
        "archive_url": archive_url(campaign),
        "organisation_name": settings.ORGANISATION_NAME,
        "organisation_address": settings.ORGANISATION_ADDRESS,
        "site_url": settings.SITE_URL,
    }


def _post_context(post: Post) -> dict:
    is_event = post.kind == Post.Kind.EVENT and post.starts_at is not None
    return {
        "post": post,
        "link": post_link(post),
        "excerpt_html": post_excerpt(post),
        "excerpt_text": post.summary.strip() or Truncator(post.body).words(EXCERPT_WORDS),
        "image_alt": post.image_alt or "",
        "is_event": is_event,
        "ics_url": event_ics_url(post) if is_event else "",
        "references": list(post.references.all()) if post.kind == Post.Kind.EDUCATION else [],
    }


def render_body(
    campaign: Campaign, topic_slugs: frozenset[str], *, tracked: bool = False
) -> RenderedBody | None:
    """The campaign as a subscriber of `topic_slugs` sees it, or None when nothing is for them.

    Does not depend on the recipient: call it once per distinct topic set and reuse the result.
    """
    sections = campaign_sections(campaign, frozenset(topic_slugs))
    if not sections:
        return None
    context = _context(campaign, sections, archive=False)
    html = inline_css(render_to_string("emails/campaign-body.html", context))
    html = tracking.instrument_html(html, campaign=campaign, tracked=tracked)
    text = render_to_string("emails/campaign-body.txt", context)
    return RenderedBody(
        # Folded to one line: a line break in a subject would end the header.
        subject=" ".join(campaign.subject.split()),
        html=html,
        text=text,
        preheader=campaign.preheader,
        topic_slugs=frozenset(section.topic_slug for section in sections),
    )


def render_archive(campaign: Campaign) -> dict:
    """Context for the public web copy: every section, no greeting by name, no personal links."""
    return _context(campaign, campaign_sections(campaign, None), archive=True)


def personalise(
    body: RenderedBody, subscriber: Subscriber, *, delivery_id: int | None = None
) -> Personalised:
    unsubscribe = tokens.unsubscribe_url(subscriber.pk)
    preferences = tokens.preferences_url(subscriber.pk)
    name = " ".join(subscriber.first_name.split()) or DEFAULT_NAME
    html = (
        tracking.personalise_html(body.html, delivery_id=delivery_id)
        .replace(FIRST_NAME, escape(name))
        .replace(UNSUBSCRIBE_URL, unsubscribe)
        .replace(PREFERENCES_URL, preferences)
    )
    text = (
        body.text.replace(FIRST_NAME, name)
        .replace(UNSUBSCRIBE_URL, unsubscribe)
        .replace(PREFERENCES_URL, preferences)
    )
    return Personalised(
        subject=body.subject,
        html=html,
        text=text,
        unsubscribe_url=unsubscribe,
        preferences_url=preferences,
    )
