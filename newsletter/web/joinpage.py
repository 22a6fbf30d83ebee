"""The Join Us page and its embed, rendered once per set of topics and consent wording.

Every page of the charity's site frames /join/embed/, so its GET is the site's traffic. The blank
form is the same for everyone, so it is rendered (Django's form widgets, ~4 ms) once per process
and generation, and served from memory. The generation is a token in the shared cache, replaced
after any change to a topic commits (or by `forget()`). The process that made the change renders
afresh at once; the others look at the token at most once per RECHECK_SECONDS, so a change shows
everywhere within that time without a cache read per request. A template change ships with a new
process, which starts with nothing remembered.

The embed is served byte for byte (no CSRF token: its POST is CSRF-exempt); the full page gets its
visitor's CSRF token put in place of a marker.
"""

import hashlib
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.html import escape

from newsletter.content import brand
from newsletter.web.forms import JoinForm

PAGE = "newsletter/join.html"
EMBED = "newsletter/join_embed.html"
GENERATION_KEY = "joinpage:generation"
# Stands in for the CSRF token in the remembered page; never a value Django would make.
CSRF_MARKER = "--csrf-token-goes-here--"
RECHECK_SECONDS = 1.0


@dataclass
class Page:
    generation: str
    body: str
    etag: str
    checked_at: float


_pages: dict[str, Page] = {}
_lock = threading.Lock()


def context(base_template: str) -> dict:
    return {
        **brand.context(),
        "base_template": base_template,
        "confirm_days": settings.CONFIRMATION_MAX_AGE // 86400,
    }


def _generation() -> str:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        # Evicted or never set: start one (another process may win the race; either is new).
        cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        generation = cache.get(GENERATION_KEY) or "uncached"
    return generation


def _page(base_template: str, *, csrf_token: str | None) -> Page:
    now = time.monotonic()
    page = _pages.get(base_template)
    if page is not None and now - page.checked_at < RECHECK_SECONDS:
        return page
    generation = _generation()
    if page is not None and page.generation == generation:
        page.checked_at = now
        return page
    values = {**context(base_template), "form": JoinForm()}
    if csrf_token is not None:
        values["csrf_token"] = csrf_token
    body = render_to_string(PAGE, values)
    etag = f'"{hashlib.sha256(body.encode()).hexdigest()[:32]}"'
    page = Page(generation, body, etag, checked_at=now)
    with _lock:
        _pages[base_template] = page
    return page


def embed() -> Page:
    """The embed's blank form: the same bytes for every visitor."""
    return _page(EMBED, csrf_token=None)


def join_page(request) -> str:
    """The full Join Us page's blank form, with this visitor's CSRF token."""
    page = _page("base.html", csrf_token=CSRF_MARKER)
    return page.body.replace(CSRF_MARKER, get_token(request), 1)


def form_snippet(action_url: str) -> str:
    """The embed's form as HTML to paste into a page of the site (no frame, no JavaScript): it
    posts to the embed, which accepts it from the origins in EMBED_ALLOWED_ORIGINS."""
    body = embed().body
    form = body[body.index("<form") : body.index("</form>") + len("</form>")]
    # The host page lacks site.css: the honeypot hides itself.
    form = form.replace('class="hp"', 'class="hp" style="position:absolute;left:-9999px"', 1)
    return form.replace("<form ", f'<form action="{escape(action_url)}" ', 1)


def forget() -> None:
    """Render afresh everywhere, once the current transaction commits (a topic or the consent
    wording changed). Before the commit, another process would render the old rows again."""
    transaction.on_commit(render_afresh)


def render_afresh() -> None:
    """Forget the rendered pages now, in this process and (within RECHECK_SECONDS) all others."""
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    with _lock:
        _pages.clear()


def forget_on_change(sender, **kwargs) -> None:
    """Signal receiver for models the form shows (connected in NewsletterConfig.ready)."""
    forget()
