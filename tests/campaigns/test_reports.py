"""Campaign reports and subscriber growth: numbers, pictures and a CSV, for staff only."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse
from django.utils import timezone

from newsletter.campaigns import charts, reports
from newsletter.models import Click, Delivery, Subscriber
from tests import ledger


@pytest.fixture
def results(topics):
    """A sent campaign: one reader opened and clicked twice, one bounced, one complained, one
    unsubscribed after it arrived, one left before it was sent, one was skipped."""
    now = timezone.now()
    sent_at = now - timedelta(hours=5)
    article = ledger.post(topics["news"], title="Twitching muscles explained")
    event = ledger.post(topics["news"], title="Charity walk")
    campaign = ledger.campaign(
        topics["news"],
        posts=[article, event],
        track_opens=True,
        track_clicks=True,
        started_at=sent_at,
        subject="November news",
    )

    def send(email, **fields):
        return ledger.delivery(campaign, ledger.subscriber(email), sent_at=sent_at, **fields)

    clicker = send(
        "clicker@example.org",
        delivered_at=sent_at + timedelta(minutes=1),
        opened_at=sent_at + timedelta(hours=1),
        clicked_at=sent_at + timedelta(hours=2),
    )
    Click.objects.create(delivery=clicker, post=article, url=article.url)
    Click.objects.create(delivery=clicker, post=event, url=event.url)
    send("bounced@example.org", status=Delivery.Status.BOUNCED)
    send("complainer@example.org", complained_at=sent_at + timedelta(hours=3))
    leaver = send("leaver@example.org", delivered_at=sent_at + timedelta(minutes=2))
    Subscriber.objects.filter(pk=leaver.subscriber_id).update(
        status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=sent_at + timedelta(hours=4)
    )
    earlier = send("earlier@example.org")
    Subscriber.objects.filter(pk=earlier.subscriber_id).update(
        status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=sent_at - timedelta(days=1)
    )
    ledger.delivery(
        campaign,
        ledger.subscriber("skipped@example.org"),
        status=Delivery.Status.SKIPPED,
        sent_at=None,
    )
    return campaign


def _staff(*permissions):
    user = User.objects.create_user("staffer", "staff@engage.example.org", "pw", is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def test_the_summary_counts_each_outcome_once(results):
    summary = reports.campaign_summary(campaign_id=results.pk)

    assert summary == {
        "recipients": 5,
        "sent": 5,
        "delivered": 2,
        "opened": 1,
        "clicked": 1,
        "bounced": 1,
        "complained": 1,
        "unsubscribed": 1,
        "failed": 0,
        "refused": 0,
    }


def test_clicks_are_counted_per_post_and_link(results):
    links = reports.campaign_link_clicks(campaign_id=results.pk)

    assert sorted((link.post_title, link.readers) for link in links) == [
        ("Charity walk", 1),
        ("Twitching muscles explained", 1),
    ]


def test_the_timeline_puts_each_event_in_its_hour(results):
    timeline = reports.campaign_timeline(campaign_id=results.pk)

    assert timeline.unit == "hour"
    assert sum(timeline.series["sent"]) == 5
    assert sum(timeline.series["opened"]) == 1
    assert sum(timeline.series["clicked"]) == 1
    assert sum(timeline.series["unsubscribed"]) == 1
    assert timeline.series["sent"][0] == 5
    assert len(timeline.buckets) >= 5


def test_subscriber_growth_counts_joins_confirmations_and_unsubscribes_per_week(db):
    now = timezone.now()
    three_weeks_ago = now - timedelta(weeks=3)
    old = ledger.subscriber("old@example.org")
    Subscriber.objects.filter(pk=old.pk).update(
        created_at=three_weeks_ago, confirmed_at=three_weeks_ago
    )
    ledger.subscriber("new@example.org", confirmed_at=now)
    gone = ledger.subscriber("gone@example.org")
    Subscriber.objects.filter(pk=gone.pk).update(unsubscribed_at=now)
    ledger.subscriber("pending@example.org", status=Subscriber.Status.PENDING, confirmed_at=None)

    growth = reports.subscriber_growth(weeks=6, now=now)

    assert len(growth.buckets) == 6
    assert growth.series["joined"][-1] == 3
    assert growth.series["joined"][-4] == 1
    assert growth.series["confirmed"][-1] == 2  # new@ and gone@ (confirmed on creation)
    assert growth.series["confirmed"][-4] == 1
    assert growth.series["unsubscribed"] == [0, 0, 0, 0, 0, 1]


def test_staff_see_the_report_with_numbers_and_charts(client, results):
    client.force_login(_staff("view_campaignreport"))

    response = client.get(reverse("admin:newsletter_campaignreport_change", args=[results.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Report: November news" in page
    assert page.count('class="engage-chart"') == 3  # results, over time, clicks per post
    assert "Twitching muscles explained" in page
    assert "<dt>Complained</dt><dd>1 <small>20.00%</small></dd>" in page
    assert "clicker@example.org" not in page
    assert "<script" not in page.split('id="content-main"')[1]


def test_the_report_list_shows_started_campaigns_with_their_numbers(client, results, topics):
    ledger.campaign(topics["news"], subject="Still a draft", status="draft")
    client.force_login(_staff("view_campaignreport"))

    response = client.get(reverse("admin:newsletter_campaignreport_changelist"))

    assert response.status_code == 200
    assert "November news" in response.content.decode()
    assert "Still a draft" not in response.content.decode()


def test_the_csv_has_one_row_per_delivery_and_no_personal_data(client, results):
    client.force_login(_staff("view_campaignreport"))

    response = client.get(reverse("admin:newsletter_campaignreport_csv", args=[results.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="campaign-')
    body = response.content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == reports.CSV_COLUMNS
    assert len(rows) == 1 + 6
    assert "@" not in body
    by_status = {}
    for row in rows[1:]:
        by_status.setdefault(row[1], []).append(row)
    assert len(by_status["bounced"]) == 1
    assert [row[6] for row in rows[1:] if row[5]] == ["2"]  # the clicker clicked two links
    assert sorted(row[8] for row in rows[1:]) == ["no"] * 5 + ["yes"]


def test_people_without_the_permission_get_no_report_and_no_csv(client, results):
    report = reverse("admin:newsletter_campaignreport_change", args=[results.pk])
    export = reverse("admin:newsletter_campaignreport_csv", args=[results.pk])

    anonymous = [client.get(report), client.get(export)]
    User.objects.create_user("reader", "r@example.org", "pw")
    client.login(username="reader", password="pw")
    not_staff = [client.get(report), client.get(export)]
    client.force_login(_staff())
    staff_without_permission = [client.get(report), client.get(export)]

    for response in anonymous + not_staff:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    assert [r.status_code for r in staff_without_permission] == [403, 403]


def test_the_admin_index_shows_the_subscriber_growth_chart(client, db):
    ledger.subscriber("someone@example.org")
    client.force_login(_staff("view_subscriber"))

    response = client.get(reverse("admin:index"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Subscribers per week" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="engage-chart"' in page
    assert "1 joined" in page


def test_the_growth_chart_is_hidden_from_staff_who_cannot_see_subscribers(client, db):
    client.force_login(_staff("view_campaignreport"))

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert "Subscribers per week" not in response.content.decode()


def test_chart_labels_are_escaped_so_a_post_title_cannot_inject_markup():
    title = '<script>alert(1)</script>"'

    bar = charts.bar_chart([(title, 3)], title=title)
    line = charts.line_chart([title], {title: [1]}, title=title)

    for svg in (bar, line):
        assert "<script>" not in svg
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in svg
        assert svg.startswith("<svg") and svg.endswith("</svg>")


def test_editors_and_senders_may_read_reports(client, results):
    editor = User.objects.create_user("ed", "ed@engage.example.org", "pw", is_staff=True)
    editor.groups.add(Group.objects.get(name="editor"))
    client.force_login(editor)

    response = client.get(reverse("admin:newsletter_campaignreport_change", args=[results.pk]))

    assert response.status_code == 200
    assert (
        Group.objects.get(name="sender").permissions.filter(codename="view_campaignreport").exists()
    )
