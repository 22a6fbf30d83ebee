"""Transactional email (confirmation, test sends): template triples rendered into one message.

emails/<name>-subject.txt, emails/<name>-body.txt and emails/<name>-body.html (which extends
emails/base.html). The text part is written as text, not scraped from the HTML.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from newsletter.mail.messages import new_message_id, staff_test_message
from newsletter.mail.rendering import inline_css, personalise, render_body
from newsletter.models import Campaign, Subscriber
from newsletter.web.context_processors import organisation


def make_message(name: str, to: str, context: dict, *, headers=None) -> EmailMultiAlternatives:
    context = {**organisation(None), **context}
    subject = " ".join(render_to_string(f"emails/{name}-subject.txt", context).split())
    text = render_to_string(f"emails/{name}-body.txt", context)
    html = inline_css(render_to_string(f"emails/{name}-body.html", context))
    message = EmailMultiAlternatives(
        subject, text, settings.DEFAULT_FROM_EMAIL, [to], headers=headers or {}
    )
    message.attach_alternative(html, "text/html")
    return message


def campaign_send_test(*, campaign_id: int, addresses: list[str], topic_slugs: list[str]) -> int:
    """Send the campaign, as a reader of `topic_slugs` sees it, to staff addresses; the count sent.

    Nothing is recorded in the delivery ledger: a test is not a delivery. A known subscriber gets
    their own links; any other address gets links for no one, which open on a harmless page.
    """
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
        messages.append(
            staff_test_message(campaign, reader, personalised, message_id=new_message_id())
        )
    for message in messages:
        message.send()
    return len(messages)
