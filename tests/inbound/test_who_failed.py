"""Who failed decides what a permanent failure does: the reader's dead address is suppressed; a
refusal of our sending (authentication, reputation, policy, content, size) leaves the reader alone
and shows on the campaign; a failure nobody can place is counted like a soft bounce."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from newsletter.campaigns import reports
from newsletter.inbound.receive import receive
from newsletter.mail import verp
from newsletter.models import Delivery, InboundMessage, Subscriber
from tests import ledger
from tests.inbound_mail import BOUNCE_ADDRESS

pytestmark = pytest.mark.django_db

DMARC = (
    "550 5.7.26 Unauthenticated email from engage.example.org is not accepted due to domain's"
    " DMARC policy"
)


@pytest.fixture(autouse=True)
def _verp(settings):
    settings.BOUNCE_ADDRESS = BOUNCE_ADDRESS


def report(delivery, *, status: str, diagnostic: str) -> bytes:
    """A report on `delivery` to its VERP address; an empty status or diagnostic is left out."""
    to = verp.address(BOUNCE_ADDRESS, verp.make_token(verp.BOUNCE, delivery.pk))
    fields = [f"Final-Recipient: rfc822; {delivery.subscriber.email}", "Action: failed"]
    if status:
        fields.append(f"Status: {status}")
    if diagnostic:
        fields.append(f"Diagnostic-Code: smtp; {diagnostic}")
    text = f"""From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

{chr(10).join(fields)}

--B
Content-Type: text/rfc822-headers

Message-ID: {delivery.message_id}
From: news@engage.example.org

--B--
"""
    return text.replace("\n", "\r\n").encode()


@pytest.fixture
def sent(topics):
    campaign = ledger.campaign(topics["news"], started_at=timezone.now())
    ledger.delivery(campaign, ledger.subscriber("bystander@example.org"))
    return ledger.delivery(campaign, ledger.subscriber("ann@example.org"))


def _ann() -> Subscriber:
    return Subscriber.objects.get(email="ann@example.org")


def test_the_readers_dead_address_is_suppressed(sent):
    row = receive(
        report(sent, status="5.1.1", diagnostic="550 5.1.1 User unknown"), source="test"
    ).row

    assert (row.kind, row.who_failed) == (InboundMessage.Kind.HARD_BOUNCE, "recipient")
    assert _ann().status == Subscriber.Status.BOUNCED


def test_a_dmarc_rejection_suppresses_nobody_and_shows_on_the_campaign(sent):
    row = receive(report(sent, status="5.7.26", diagnostic=DMARC), source="test").row

    assert (row.kind, row.who_failed) == (InboundMessage.Kind.HARD_BOUNCE, "sender")
    assert row.subscriber == sent.subscriber and row.delivery == sent
    ann = _ann()
    assert (ann.status, ann.soft_bounces) == (Subscriber.Status.ACTIVE, 0)
    sent.refresh_from_db()
    assert sent.status == Delivery.Status.FAILED and "DMARC" in sent.last_error
    summary = reports.campaign_summary(campaign_id=sent.campaign_id)
    assert summary["refused"] == 1
    [warning] = reports.campaign_warnings(summary)
    assert "refused" in warning and "sending" in warning


def test_sender_side_refusals_never_suppress_however_many(settings, topics):
    ann = ledger.subscriber("ann@example.org")
    for _ in range(settings.SOFT_BOUNCE_LIMIT + 1):
        delivery = ledger.delivery(ledger.campaign(topics["news"]), ann)
        receive(
            report(delivery, status="5.7.1", diagnostic="554 5.7.1 blocked using zen.spamhaus.org"),
            source="test",
        )

    assert (_ann().status, _ann().soft_bounces) == (Subscriber.Status.ACTIVE, 0)


def test_a_failure_nobody_can_place_counts_like_a_soft_bounce(settings, topics):
    ann = ledger.subscriber("ann@example.org")
    rows = []
    for _ in range(settings.SOFT_BOUNCE_LIMIT):
        delivery = ledger.delivery(ledger.campaign(topics["news"]), ann)
        rows.append(receive(report(delivery, status="", diagnostic=""), source="test").row)
        if len(rows) == 1:
            assert (_ann().status, _ann().soft_bounces) == (Subscriber.Status.ACTIVE, 1)

    assert {(row.kind, row.who_failed) for row in rows} == {
        (InboundMessage.Kind.HARD_BOUNCE, "unknown")
    }
    assert _ann().status == Subscriber.Status.BOUNCED


def _staff(*codenames):
    user = User.objects.create_user("staffer", "staff@engage.example.org", "pw", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def test_staff_see_the_sending_problem_on_the_campaign_and_each_class_in_the_inbound_list(
    client, sent, topics
):
    receive(report(sent, status="5.7.26", diagnostic=DMARC), source="test")
    other = ledger.delivery(sent.campaign, ledger.subscriber("bob@example.org"))
    receive(report(other, status="5.1.1", diagnostic="550 5.1.1 User unknown"), source="test")
    client.force_login(_staff("view_campaignreport", "view_inboundmessage"))

    page = client.get(reverse("admin:newsletter_campaignreport_change", args=[sent.campaign_id]))
    text = page.content.decode()
    assert "Refused for a sending problem" in text
    assert "refused this campaign for a reason on our side" in text

    inbound = reverse("admin:newsletter_inboundmessage_changelist")
    ours = client.get(inbound, {"who_failed__exact": "sender"}).content.decode()
    assert "[our sending] 550 5.7.26" in ours and "User unknown" not in ours
    theirs = client.get(inbound, {"who_failed__exact": "recipient"}).content.decode()
    assert "[the address] 550 5.1.1 User unknown" in theirs and "5.7.26" not in theirs
