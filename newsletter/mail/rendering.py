"""Campaign rendering: the hot path of delivery.

Each distinct body (one per set of topics a subscriber can see) is rendered and CSS-inlined once;
each recipient's message is then made by substituting a few placeholders (`personalise`).
The message around a body (headers, MIME) is built by newsletter.mail.messages.
"""

import functools
import re
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

from newsletter.campaigns import abtest
from newsletter.content import brand
from newsletter.engagement import tracking
from newsletter.models import Campaign, Post, Snapshot, Subscriber
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


def build_snapshot(campaign: Campaign) -> Snapshot:
    """The campaign's content as it stands, frozen (unsaved): what scheduling stores."""
    items = campaign.items.select_related("post__topic", "post__engagement").prefetch_related(
        "post__references"
    )
    posts = [item.post for item in items.order_by("position", "id")]
    return snapshot_of(campaign, topics=campaign.topics.all(), posts=posts)


def snapshot_of(campaign: Campaign, *, topics, posts: list[Post]) -> Snapshot:
    """`campaign`'s words with these audience topics and posts, frozen (unsaved). The live preview
    passes what the compose form holds before it is saved.

    Sections come in the order of their first post in the campaign, one per audience topic that
    has posts; each post is kept as the email's HTML and text fragments, rendered now.
    """
    audience = list(topics.order_by("position", "name").values("id", "slug"))
    slugs = {topic["slug"] for topic in audience}
    sections: dict[str, dict] = {}
    post_ids = []
    for post in posts:
        topic = post.topic
        post_ids.append(post.pk)
        if topic.slug not in slugs:
            continue
        section = sections.setdefault(
            topic.slug, {"topic_slug": topic.slug, "heading": topic.name, "posts": []}
        )
        section["posts"].append(_post_fragments(post))
    return Snapshot(
        campaign=campaign,
        subject=campaign.subject,
        preheader=campaign.preheader,
        intro=campaign.intro,
        greeting=campaign.greeting,
        topics=audience,
        sections=list(sections.values()),
        post_ids=post_ids,
        variants=abtest.frozen_variants(campaign) if campaign.pk else [],
        brand=brand.current(),
    )


def frozen(campaign: Campaign) -> Snapshot:
    """What goes out for `campaign`: the snapshot taken when it was scheduled. A draft has none
    yet: previews and test sends see its live content."""
    if campaign.status == Campaign.Status.DRAFT:
        return build_snapshot(campaign)
    try:
        return campaign.snapshot
    except Snapshot.DoesNotExist:
        pass
    snapshot = build_snapshot(campaign)
    if campaign.status != Campaign.Status.CANCELLED:
        # Scheduled before snapshots existed: frozen at its first use, and kept from then on.
        fields = {f.name: getattr(snapshot, f.name) for f in Snapshot._meta.concrete_fields}
        for name in ("id", "campaign", "created_at"):
            fields.pop(name)
        snapshot, _ = Snapshot.objects.get_or_create(campaign=campaign, defaults=fields)
        campaign.snapshot = snapshot
    return snapshot


def _post_fragments(post: Post) -> dict:
    context = _post_context(post)
    return {
        "post_id": post.pk,
        "title": post.title,
        "link": context["link"],
        "html": render_to_string("emails/_post.html", {"item": context, "post": post}),
        "text": render_to_string("emails/_post.txt", {"item": context}),
        **_engagement_links(post),
    }


def snapshot_sections(snapshot: Snapshot, topic_slugs: frozenset[str] | None) -> list[dict]:
    """The snapshot's sections a reader of `topic_slugs` sees (None: every section)."""
    return [
        section
        for section in snapshot.sections
        if topic_slugs is None or section["topic_slug"] in topic_slugs
    ]


def _context(campaign: Campaign, snapshot: Snapshot, sections: list[dict], *, archive: bool):
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


def _engagement_links(post: Post) -> dict:
    """Placeholders for the reader's own RSVP and "count me in" links (filled by `personalise`),
    and the public RSVP page for the archive, where there is no reader."""
    from newsletter.engagement import interest, rsvp

    links = {}
    if rsvp.takes_answers(post):
        links["rsvp_url"] = f"{POST_LINK_MARK}rsvp_{post.pk}%%"
        links["public_rsvp_url"] = tokens.absolute_url(reverse("event-rsvp", args=[post.slug]))
    if interest.takes_interest(post):
        links["interest_url"] = f"{POST_LINK_MARK}interest_{post.pk}%%"
    return links


def render_body(
    campaign: Campaign, topic_slugs: frozenset[str], *, tracked: bool = False, variant: str = ""
) -> RenderedBody | None:
    """The campaign as a subscriber of `topic_slugs` sees it, or None when nothing is for them.
    With `variant`, an A/B test's subject and preheader of that letter.

    Renders the campaign's snapshot (what a sender approved), never its live posts. Does not
    depend on the recipient: call it once per distinct topic set and reuse the result.
    """
    from newsletter.engagement.event_reminders import is_reminder
    from newsletter.series.approval import is_step

    # A reminder goes to the event's "yes" list, and a series step to its enrolled readers,
    # whatever topics each of them chose; a step may be text alone.
    step = is_step(campaign)
    wanted = None if step or is_reminder(campaign) else frozenset(topic_slugs)
    return render_snapshot(
        campaign, frozen(campaign), wanted, tracked=tracked, variant=variant, text_alone=step
    )


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
    subject, preheader = abtest.subject_of(snapshot, variant)
    context = {
        **_context(campaign, snapshot, sections, archive=False),
        "subject": subject,
        "preheader": preheader,
    }
    html = inline_css(render_to_string("emails/campaign-body.html", context))
    html = tracking.instrument_html(html, campaign=campaign, tracked=tracked)
    text = render_to_string("emails/campaign-body.txt", context)
    return RenderedBody(
        # Folded to one line: a line break in a subject would end the header.
        subject=" ".join(subject.split()),
        html=html,
        text=text,
        preheader=preheader,
        topic_slugs=frozenset(section["topic_slug"] for section in sections),
    )


def render_archive(campaign: Campaign) -> dict:
    """Context for the public web copy: every section of what was sent, no greeting by name, no
    personal links."""
    snapshot = frozen(campaign)
    context = _context(campaign, snapshot, snapshot_sections(snapshot, None), archive=True)
    # An A/B test's archive copy shows the winner's subject.
    context["subject"], context["preheader"] = abtest.subject_of(snapshot, campaign.winner)
    return context


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
        token = tracking.delivery_token(delivery_id)
        values[tracking.TRACK_PLACEHOLDER] = (token, token)
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
        else tracking.personalise_html(body.html, delivery_id=None)
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
