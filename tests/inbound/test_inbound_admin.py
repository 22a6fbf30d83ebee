"""Staff's view of mail that came back, and the bounce and complaint rates in campaign reports."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from newsletter.campaigns import reports
from newsletter.inbound.receive import receive
from newsletter.models import Delivery, InboundMessage
from tests import ledger
from tests.inbound_mail import BOUNCE_ADDRESS, corpus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _verp(settings):
    settings.BOUNCE_ADDRESS = BOUNCE_ADDRESS


def _staff(*codenames):
    user = User.objects.create_user("staffer", "staff@engage.example.org", "pw", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def inbound(topics):
    campaign = ledger.campaign(topics["news"], subject="November news")
    ann = ledger.delivery(campaign, ledger.subscriber("ann@example.org"))
    bounce = receive(corpus("hard_bounce--postfix.txt", ann), source="imap").row
    reply = receive(corpus("other--reply.txt", ann), source="pipe").row
    return bounce, reply


def test_the_inbound_list_shows_kind_subscriber_delivery_and_reason(client, inbound):
    client.force_login(_staff("view_inboundmessage"))

    page = client.get(reverse("admin:newsletter_inboundmessage_changelist")).content.decode()

    assert "ann@example.org" in page
    assert "DSN failed 5.1.1" in page
    assert "not a report: kept for staff" in page


def test_the_inbound_list_filters_by_kind(client, inbound):
    client.force_login(_staff("view_inboundmessage"))
    url = reverse("admin:newsletter_inboundmessage_changelist")

    page = client.get(url, {"kind__exact": "other"}).content.decode()

    assert "not a report: kept for staff" in page
    assert "DSN failed" not in page


def test_the_raw_message_needs_its_own_permission(client, inbound):
    bounce, _ = inbound
    url = reverse("admin:newsletter_inboundmessage_raw", args=[bounce.pk])
    client.force_login(_staff("view_inboundmessage"))

    assert client.get(url).status_code == 403
    page = client.get(reverse("admin:newsletter_inboundmessage_change", args=[bounce.pk]))
    assert page.status_code == 200 and url not in page.content.decode()


def test_staff_with_the_raw_permission_read_the_message_as_plain_text(client, inbound):
    bounce, _ = inbound
    client.force_login(_staff("view_inboundmessage", "view_inbound_raw"))
    page = client.get(reverse("admin:newsletter_inboundmessage_change", args=[bounce.pk]))
    assert "Show the raw message" in page.content.decode()

    response = client.get(reverse("admin:newsletter_inboundmessage_raw", args=[bounce.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == bytes(bounce.raw)


def test_after_retention_the_raw_message_is_gone_and_the_row_stays(client, inbound):
    bounce, _ = inbound
    InboundMessage.objects.update(raw=None)
    client.force_login(_staff("view_inboundmessage", "view_inbound_raw"))

    change = client.get(reverse("admin:newsletter_inboundmessage_change", args=[bounce.pk]))
    raw = client.get(reverse("admin:newsletter_inboundmessage_raw", args=[bounce.pk]))

    assert "deleted after the retention period" in change.content.decode()
    assert raw.status_code == 404


def test_inbound_rows_cannot_be_added_changed_or_deleted(client, inbound):
    bounce, _ = inbound
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))

    assert client.get(reverse("admin:newsletter_inboundmessage_add")).status_code == 403
    delete = reverse("admin:newsletter_inboundmessage_delete", args=[bounce.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert InboundMessage.objects.count() == 2


def _campaign_with(topics, *, sent, bounced, complained):
    campaign = ledger.campaign(topics["news"], subject="Rates", started_at=timezone.now())
    for n in range(sent):
        ledger.delivery(
            campaign,
            ledger.subscriber(f"r{n}@example.org"),
            status=Delivery.Status.BOUNCED if n < bounced else Delivery.Status.SENT,
            complained_at=campaign.created_at if bounced <= n < bounced + complained else None,
        )
    return campaign


@pytest.mark.parametrize(
    ("bounced", "complained", "expected"),
    [
        (4, 0, []),
        (5, 0, ["Bounce rate 5.0%"]),
        (0, 1, []),  # 0.1%
        (0, 3, ["Complaint rate 0.30%"]),
        (50, 3, ["Complaint rate 0.30%", "Bounce rate 5.0%"]),
    ],
)
def test_the_report_warns_at_the_providers_complaint_and_bounce_limits(
    topics, bounced, complained, expected
):
    campaign = _campaign_with(
        topics, sent=1000 if complained else 100, bounced=bounced, complained=complained
    )

    warnings = reports.campaign_warnings(reports.campaign_summary(campaign_id=campaign.pk))

    assert [warning.split(" is ")[0] for warning in warnings] == expected


def test_the_report_page_shows_the_warning_above_the_numbers(client, topics):
    campaign = _campaign_with(topics, sent=20, bounced=2, complained=0)
    client.force_login(_staff("view_campaignreport"))

    page = client.get(reverse("admin:newsletter_campaignreport_change", args=[campaign.pk]))

    content = page.content.decode()
    assert '<li class="warning" role="alert">Bounce rate 10.0% is at or above 5%' in content
    assert content.index("Bounce rate 10.0%") < content.index('<dl class="numbers">')
