"""Transactional email (confirmation, test sends): template triples rendered into one message.

emails/<name>-subject.txt, emails/<name>-body.txt and emails/<name>-body.html (which extends
emails/base.html). The text part is written as text, not scraped from the HTML.
"""

from email.headerregistry import Address

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from .addresses import safe_display_name

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


# Control characters (CR, LF, NUL, ...) never belong in a display name: dropping them is what makes
# a name unable to start a header of its own.


def display_address(name: str, email: str) -> str:
    """`"Name" <email>` with the name quoted or encoded as needed; a name cannot inject a header."""
    name = safe_display_name(name)
    return str(Address(display_name=name, addr_spec=email)) if name else email


def campaign_message(
    campaign, subscriber, personalised, *, message_id: str
) -> EmailMultiAlternatives:
    """One campaign message as Django sends it: text + HTML, and the list headers."""
    from .rendering import campaign_headers  # rendering imports this module for inline_css

    headers = campaign_headers(
        campaign, unsubscribe_url=personalised.unsubscribe_url, message_id=message_id
    )
    message = EmailMultiAlternatives(
        personalised.subject,
        personalised.text,
        settings.DEFAULT_FROM_EMAIL,
        [display_address(subscriber.first_name, subscriber.email)],
        headers=headers,
    )
    message.attach_alternative(personalised.html, "text/html")
    return message


def campaign_send_test(*, campaign_id: int, addresses: list[str], topic_slugs: list[str]) -> int:
    """Send the campaign, as a reader of `topic_slugs` sees it, to staff addresses; the count sent.

    Nothing is recorded in the delivery ledger: a test is not a delivery. A known subscriber gets
    their own links; any other address gets links for no one, which open on a harmless page.
    """
    from .models import Campaign, Subscriber
    from .rendering import new_message_id, personalise, render_body

    campaign = Campaign.objects.get(pk=campaign_id)
    slugs = frozenset(topic_slugs) or frozenset(campaign.topics.values_list("slug", flat=True))
    body = render_body(campaign, slugs)
    if body is None:
        return 0
    known = {s.email: s for s in Subscriber.objects.filter(email__in=addresses)}
    messages = []
    for address in addresses:
        reader = known.get(address) or Subscriber(pk=0, email=address)
        personalised = personalise(body, reader)
        message = campaign_message(campaign, reader, personalised, message_id=new_message_id())
        message.subject = f"[Test] {personalised.subject}"
        messages.append(message)
    for message in messages:
        message.send()
    return len(messages)
