"""Transactional email (confirmation, RSVPs, interest): template triples rendered into one message.

emails/<name>-subject.txt, emails/<name>-body.txt and emails/<name>-body.html (which extends
emails/base.html). The text part is written as text, not scraped from the HTML.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from newsletter.content import brand
from newsletter.mail.rendering import inline_css


def make_message(name: str, to: str, context: dict, *, headers=None) -> EmailMultiAlternatives:
    context = {**brand.context(), **context}
    subject = " ".join(render_to_string(f"emails/{name}-subject.txt", context).split())
    text = render_to_string(f"emails/{name}-body.txt", context)
    html = inline_css(render_to_string(f"emails/{name}-body.html", context))
    message = EmailMultiAlternatives(
        subject, text, settings.DEFAULT_FROM_EMAIL, [to], headers=headers or {}
    )
    message.attach_alternative(html, "text/html")
    return message
