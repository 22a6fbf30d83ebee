"""A campaign's test send: who it may go to, how often, and the send itself.

A test goes to the sender's own address, other staff addresses, and at most a few named ones, never
to an address that asked not to be mailed (unsubscribed, complained, bounced, erased or otherwise on
the suppression list), and a sender may start only a few per hour: a test send is not a way round
the audience.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django_ratelimit.core import is_ratelimited

from newsletter.campaigns.snapshot import render_body
from newsletter.mail.messages import new_message_id, staff_test_message
from newsletter.mail.rendering import personalise
from newsletter.models import Campaign, Subscriber
from newsletter.subscribers import policy
from newsletter.subscribers.addresses import normalise_email

MAX_ADDRESSES = 5  # typed addresses in all
MAX_OUTSIDE_STAFF = 3  # of which not a staff member's own
NOT_MAILED = {
    Subscriber.Status.UNSUBSCRIBED: "unsubscribed",
    Subscriber.Status.BOUNCED: "bounced",
    Subscriber.Status.COMPLAINED: "complained about our mail",
}


def staff_addresses() -> set[str]:
    users = get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="")
    return {email.lower() for email in users.values_list("email", flat=True)}


def refusal(address: str) -> str | None:
    """Why `address` may not get a test, or None."""
    email = normalise_email(address)
    status = Subscriber.objects.filter(email=email).values_list("status", flat=True).first()
    if status in NOT_MAILED:
        return f"“{address}” has {NOT_MAILED[status]}: we do not mail it, not even a test."
    if not policy.may_send_requested(None, email):
        return f"“{address}” is on the suppression list: we do not mail it, not even a test."
    return None


def problems(addresses: list[str]) -> list[str]:
    """Everything wrong with a list of typed addresses (empty: they may get the test)."""
    errors = [reason for reason in map(refusal, addresses) if reason]
    outside = [address for address in addresses if address not in staff_addresses()]
    if len(outside) > MAX_OUTSIDE_STAFF:
        errors.append(
            f"At most {MAX_OUTSIDE_STAFF} addresses outside the staff; "
            f"these are not staff addresses: {', '.join(outside)}."
        )
    return errors


def over_limit(request) -> bool:
    """Counts one test send by this staff member; True when it is one too many this hour."""
    return is_ratelimited(
        request, group="send-test", key="user", rate=settings.SEND_TEST_RATE, increment=True
    )


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
