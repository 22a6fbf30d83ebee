"""Posts as emails and pages show them: their Markdown made safe, an excerpt, their links."""

import markdown
import nh3
from django.conf import settings
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from newsletter.models import Post
from newsletter.subscribers import tokens

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


def event_ics_url(post: Post) -> str:
    return tokens.absolute_url(reverse("event-ics", args=[post.slug]))


def post_context(post: Post) -> dict:
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
