"""The snapshot: what a sender approved when scheduling, frozen. What is sent and what the archive
shows come from it, never from live posts; a draft has none yet, so previews and test sends see its
live content. Each post is kept as the email's HTML and text fragments, rendered when frozen."""

from django.template.loader import render_to_string
from django.urls import reverse

from newsletter.campaigns import abtest
from newsletter.content import brand
from newsletter.content.posts import post_context
from newsletter.mail import rendering
from newsletter.mail.rendering import POST_LINK_MARK, RenderedBody
from newsletter.models import Campaign, Post, Snapshot
from newsletter.subscribers import tokens


def build_snapshot(campaign: Campaign) -> Snapshot:
    """The campaign's content as it stands, frozen (unsaved): what scheduling stores."""
    items = campaign.items.select_related("post__topic", "post__engagement").prefetch_related(
        "post__references"
    )
    posts = [item.post for item in items.order_by("position", "id")]
    return snapshot_of(campaign, topics=campaign.topics.all(), posts=posts)


def snapshot_of(campaign: Campaign, *, topics, posts: list[Post]) -> Snapshot:
    """`campaign`'s words with these audience topics and posts, frozen (unsaved). The live preview
    passes what the compose form holds before it is saved."""
    variants = abtest.frozen_variants(campaign) if campaign.pk else []
    fields = snapshot_fields(campaign, topics=topics, posts=posts, variants=variants)
    return Snapshot(campaign=campaign, brand=brand.current(), **fields)


def snapshot_fields(campaign, *, topics, posts, variants: list[dict]) -> dict:
    """A snapshot's content fields (all but its campaign and brand), from rows alone: the data
    migration that froze campaigns scheduled before snapshots existed calls it with its own models.

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
        section["posts"].append(post_fragments(post))
    return {
        "subject": campaign.subject,
        "preheader": campaign.preheader,
        "intro": campaign.intro,
        "greeting": campaign.greeting,
        "topics": audience,
        "sections": list(sections.values()),
        "post_ids": post_ids,
        "variants": variants,
    }


def frozen(campaign: Campaign) -> Snapshot:
    """What goes out for `campaign`: the snapshot taken when it was scheduled. A draft has none
    yet: previews and test sends see its live content, and so does a campaign cancelled before it
    was ever approved. (Campaigns scheduled before snapshots existed were frozen by migration 0152:
    reading never writes.)"""
    if campaign.status != Campaign.Status.DRAFT:
        try:
            return campaign.snapshot
        except Snapshot.DoesNotExist:
            pass
    return build_snapshot(campaign)


def post_fragments(post: Post) -> dict:
    context = post_context(post)
    return {
        "post_id": post.pk,
        "title": post.title,
        "link": context["link"],
        "html": render_to_string("emails/_post.html", {"item": context, "post": post}),
        "text": render_to_string("emails/_post.txt", {"item": context}),
        **_engagement_links(post),
    }


def _engagement_links(post: Post) -> dict:
    """Placeholders for the reader's own RSVP and "count me in" links (filled by `personalise`),
    and the public RSVP page for the archive, where there is no reader."""
    links = {}
    if post.takes_answers():
        links["rsvp_url"] = f"{POST_LINK_MARK}rsvp_{post.pk}%%"
        links["public_rsvp_url"] = tokens.absolute_url(reverse("event-rsvp", args=[post.slug]))
    if post.takes_interest():
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
    # A reminder goes to the event's "yes" list, and a series step to its enrolled readers,
    # whatever topics each of them chose; a step may be text alone.
    step = campaign.kind == Campaign.Kind.SERIES_STEP
    everything = step or campaign.kind == Campaign.Kind.EVENT_REMINDER
    wanted = None if everything else frozenset(topic_slugs)
    return rendering.render_snapshot(
        campaign, frozen(campaign), wanted, tracked=tracked, variant=variant, text_alone=step
    )


def render_archive(campaign: Campaign) -> dict:
    """Context for the public web copy: every section of what was sent, no greeting by name, no
    personal links."""
    snapshot = frozen(campaign)
    context = rendering.campaign_context(
        campaign, snapshot, rendering.snapshot_sections(snapshot, None), archive=True
    )
    # An A/B test's archive copy shows the winner's subject.
    context["subject"], context["preheader"] = snapshot.subject_of(campaign.winner)
    return context
