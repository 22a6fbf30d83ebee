"""A campaign's test send: who it may go to, how often, and the send itself.

A test goes to staff accounts and to the test list a superuser keeps (ApprovedTestAddress), never to
anyone else: a test send is not a way round the audience, nor a way to ask about a reader. Any
address outside the list gets the same answer whatever we know of it, and the hourly limit counts
every attempt before an address is looked at (the view asks over_limit first). An address on the
list that asked not to be mailed (unsubscribed, complained, bounced, suppressed) still gets nothing.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django_ratelimit.core import is_ratelimited

from newsletter.campaigns.snapshot import render_body
from newsletter.mail.messages import new_message_id, staff_test_message
from newsletter.mail.rendering import personalise
from newsletter.models import ApprovedTestAddress, Campaign, Subscriber
from newsletter.subscribers import policy
from newsletter.subscribers.addresses import normalise_email

MAX_ADDRESSES = 5  # typed addresses in all
NOT_ON_LIST = (
    "“{address}” is not on the test list: tests go to staff accounts and to the addresses an "
    "administrator keeps under “Test recipients”."
)
NOT_MAILED = {
    Subscriber.Status.UNSUBSCRIBED: "unsubscribed",
    Subscriber.Status.BOUNCED: "bounced",
    Subscriber.Status.COMPLAINED: "complained about our mail",
}


def allowed_addresses() -> set[str]:
    """Staff accounts' addresses and the kept test list, lower-cased."""
    users = get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="")
    staff = users.values_list("email", flat=True)
    kept = ApprovedTestAddress.objects.values_list("email", flat=True)
    return {email.lower() for email in [*staff, *kept]}


def refusal(address: str) -> str | None:
    """Why an address on the test list may not get a test, or None."""
    email = normalise_email(address)
    status = Subscriber.objects.filter(email=email).values_list("status", flat=True).first()
    if status in NOT_MAILED:
        return f"“{address}” has {NOT_MAILED[status]}: we do not mail it, not even a test."
    if not policy.may_send_requested(None, email):
        return f"“{address}” is on the suppression list: we do not mail it, not even a test."
    return None


def problems(addresses: list[str]) -> list[str]:
    """Everything wrong with a list of typed addresses (empty: they may get the test). Only an
    address on the list is looked up: any other gets NOT_ON_LIST and nothing else."""
    allowed = allowed_addresses()
    errors = []
    for address in addresses:
        if address.lower() not in allowed:
            errors.append(NOT_ON_LIST.format(address=address))
        elif reason := refusal(address):
            errors.append(reason)
    return errors


def over_limit(request) -> bool:
    """Counts one attempt to send a test by this staff member, refused or not; True when it is one
    too many this hour."""
    return is_ratelimited(
        request, group="send-test", key="user", rate=settings.SEND_TEST_RATE, increment=True
    )


def sections(campaign: Campaign, topic_slugs: list[str]) -> frozenset[str]:
    """The topics a test shows: those ticked, or (none ticked) every topic of the campaign."""
    return frozenset(topic_slugs) or frozenset(campaign.topics.values_list("slug", flat=True))


def nothing_to_send(campaign: Campaign, topic_slugs: list[str]) -> str | None:
    """Why a test of these sections would be an empty email, or None. Asked before a test is
    queued: saying "Test sent" when the task then sends nothing leaves staff waiting for mail."""
    if render_body(campaign, sections(campaign, topic_slugs)) is not None:
        return None
    if topic_slugs:
        return (
            "There is nothing to send: none of the campaign's posts is in the sections ticked. "
            "Tick other sections, or add a post for them."
        )
    return "There is nothing to send: the campaign has no posts for its topics yet. Add a post."


def campaign_send_test(*, campaign_id: int, addresses: list[str], topic_slugs: list[str]) -> int:
    """Send the campaign, as a reader of `topic_slugs` sees it, to staff addresses; the count sent.

    Nothing is recorded in the delivery ledger: a test is not a delivery. A known subscriber gets
    their own links; any other address gets links for no one, which open on a harmless page.
    """
    campaign = Campaign.objects.get(pk=campaign_id)
    body = render_body(campaign, sections(campaign, topic_slugs))
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
