"""Transactional email (confirmation, test sends): template triples rendered into one message.

emails/<name>-subject.txt, emails/<name>-body.txt and emails/<name>-body.html (which extends
emails/base.html). The text part is written as text, not scraped from the HTML.
"""

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

_inliner = css_inline.CSSInliner(keep_style_tags=True)


def inline_css(html: str) -> str:
    return _inliner.inline(html)


def make_message(name: str, to: str, context: dict, *, headers=None) -> EmailMultiAlternatives:
    context = {
        "organisation_name": settings.ORGANISATION_NAME,
        "organisation_address": settings.ORGANISATION_ADDRESS,
        "site_url": settings.SITE_URL,
        **context,
    }
    subject = " ".join(render_to_string(f"emails/{name}-subject.txt", context).split())
    text = render_to_string(f"emails/{name}-body.txt", context)
    html = inline_css(render_to_string(f"emails/{name}-body.html", context))
    message = EmailMultiAlternatives(
        subject, text, settings.DEFAULT_FROM_EMAIL, [to], headers=headers or {}
    )
    message.attach_alternative(html, "text/html")
    return message
