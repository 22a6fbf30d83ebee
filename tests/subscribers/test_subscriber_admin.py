import csv
import io

import pytest
from django.core import mail
from django.utils import timezone

from newsletter.models import Subscriber, Suppression
from newsletter.subscribers.addresses import suppression_hash
from tests.factories import SubscriberFactory

CHANGELIST = "/admin/newsletter/subscriber/"


@pytest.fixture
def staff(django_user_model):
    """A staff member with the subscriber permissions (not a superuser)."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("staff", "staff@example.org", "pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="newsletter",
            codename__in=[
                "view_subscriber",
                "change_subscriber",
                "delete_subscriber",
                "export_subscribers",
                "view_suppression",
                "view_topic",
            ],
        )
    )
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def people(topics):
    return {
        "ann": SubscriberFactory(email="ann@example.org", first_name="Ann", active=True),
        "bob": SubscriberFactory(email="bob@example.org", first_name="Bob", active=True),
        "cat": SubscriberFactory(email="cat@example.org", first_name="Cat"),
        "dan": SubscriberFactory(
            email="dan@example.org", first_name="Dan", unsubscribed=True, topics=[topics["events"]]
        ),
    }


def run_action(client, action, subscribers):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [s.pk for s in subscribers]},
    )


def test_staff_see_counts_per_status(staff_client, people):
    response = staff_client.get(CHANGELIST)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>2</strong> active" in html
    assert "<strong>1</strong> pending" in html
    assert "<strong>1</strong> unsubscribed" in html
    assert "<strong>0</strong> bounced" in html
    assert "/join/embed/" in html  # the iframe snippet to paste on other pages


def test_staff_search_by_email_and_name(staff_client, people):
    by_email = staff_client.get(CHANGELIST, {"q": "bob@"})
    by_name = staff_client.get(CHANGELIST, {"q": "Cat"})

    assert [s.email for s in by_email.context["cl"].result_list] == ["bob@example.org"]
    assert [s.email for s in by_name.context["cl"].result_list] == ["cat@example.org"]


def test_staff_filter_by_status_topic_and_date(staff_client, people, topics):
    by_status = staff_client.get(CHANGELIST, {"status__exact": "pending"})
    by_topic = staff_client.get(CHANGELIST, {"topics__id__exact": topics["events"].pk})
    midnight = timezone.localtime(people["ann"].created_at).replace(hour=0, minute=0, second=0)
    by_date = staff_client.get(CHANGELIST, {"created_at__gte": str(midnight)})

    assert [s.email for s in by_status.context["cl"].result_list] == ["cat@example.org"]
    assert [s.email for s in by_topic.context["cl"].result_list] == ["dan@example.org"]
    assert by_date.context["cl"].result_count == 4


def test_export_csv_action(staff_client, people):
    response = run_action(staff_client, "export_csv", [people["ann"], people["dan"]])

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["email"], r["status"]) for r in rows] == [
        ("ann@example.org", "active"),
        ("dan@example.org", "unsubscribed"),
    ]
    assert rows[1]["topics"] == "events"


def test_resend_confirmation_action_mails_only_the_pending(
    staff_client, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(staff_client, "resend_confirmation", people.values())

    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["cat@example.org"]]


def test_unsubscribe_action(staff_client, people):
    run_action(staff_client, "unsubscribe_selected", [people["ann"], people["cat"]])

    statuses = dict(Subscriber.objects.values_list("email", "status"))
    assert statuses["ann@example.org"] == "unsubscribed"
    assert statuses["cat@example.org"] == "unsubscribed"
    assert statuses["bob@example.org"] == "active"
    assert Subscriber.objects.get(email="ann@example.org").unsubscribed_at is not None


def test_consent_fields_are_read_only(staff_client, people):
    ann = people["ann"]
    page = staff_client.get(f"{CHANGELIST}{ann.pk}/change/")
    assert 'name="consent_ip"' not in page.content.decode()
    assert "192.0.2.1" in page.content.decode()

    staff_client.post(
        f"{CHANGELIST}{ann.pk}/change/",
        {
            "email": ann.email,
            "first_name": "Ann",
            "topics": [],
            "allow_tracking": "on",
            "consent_ip": "203.0.113.9",
            "consent_version": "forged",
        },
    )

    ann.refresh_from_db()
    assert ann.consent_ip == "192.0.2.1"
    assert ann.consent_version == "2026-11"


def test_deleting_in_admin_erases_and_keeps_the_suppression(staff_client, people):
    staff_client.post(f"{CHANGELIST}{people['bob'].pk}/delete/", {"post": "yes"})

    assert not Subscriber.objects.filter(email="bob@example.org").exists()
    assert Suppression.objects.filter(email_hash=suppression_hash("bob@example.org")).exists()


def test_the_suppression_list_is_searchable_by_address(staff_client, people):
    staff_client.post(f"{CHANGELIST}{people['bob'].pk}/delete/", {"post": "yes"})

    response = staff_client.get("/admin/newsletter/suppression/", {"q": "BOB@example.org"})

    assert response.context["cl"].result_count == 1


def test_a_non_staff_user_is_sent_to_the_login_page(client, django_user_model, people):
    user = django_user_model.objects.create_user("visitor", "v@example.org", "pw")
    client.force_login(user)

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login/")


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, people):
    response = run_action(client, "unsubscribe_selected", [people["ann"]])

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login/")
    assert Subscriber.objects.get(email="ann@example.org").status == "active"
