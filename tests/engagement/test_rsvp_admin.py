"""Staff's view of an event's answers: counts, the list with search, CSV and check-in."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from newsletter.engagement import attendance, rsvp
from newsletter.models import Rsvp
from tests.factories import SubscriberFactory, event_taking_rsvps

pytestmark = pytest.mark.django_db
YES = Rsvp.Answer.YES


def staff_with(client, *codenames):
    user = User.objects.create_user("-".join(codenames), is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return user


@pytest.fixture
def event(topics):
    event = event_taking_rsvps(topics["events"], capacity=2, title="Gala", slug="gala")
    people = [
        SubscriberFactory(email="ann@example.org", first_name="Ann", active=True),
        SubscriberFactory(email="bob@example.org", first_name="=cmd|' /C calc'!A0", active=True),
        SubscriberFactory(email="cy@example.org", first_name="Cy", active=True),
        SubscriberFactory(email="di@example.org", first_name="Di", active=True),
    ]
    for person, answer in zip(people, [YES, YES, YES, Rsvp.Answer.NO], strict=True):
        rsvp.rsvp_answer(
            reader=rsvp.Reader(subscriber_id=person.pk), post_id=event.pk, answer=answer
        )
    return event


def page(event, name="change"):
    return reverse(f"admin:newsletter_eventattendance_{name}", args=[event.pk])


def test_staff_see_counts_per_event_in_the_list_and_on_its_page(client, event):
    staff_with(client, "view_post", "view_subscriber")

    listing = client.get(reverse("admin:newsletter_eventattendance_changelist")).content.decode()
    detail = client.get(page(event)).content.decode()

    assert "Gala" in listing
    assert '<td class="field-yes">2</td>' in listing
    assert '<td class="field-waitlist">1</td>' in listing
    assert '<td class="field-places_left">0</td>' in listing
    for label, value in [("Yes", 2), ("No", 1), ("Waitlist", 1), ("Places left", 0)]:
        assert f"<dt>{label}</dt><dd>{value}</dd>" in detail


def test_staff_search_the_attendees(client, event):
    staff_with(client, "view_post", "view_subscriber")

    html = client.get(page(event), {"q": "ann"}).content.decode()

    assert "ann@example.org" in html and "cy@example.org" not in html


def test_the_csv_export_is_formula_safe(client, event):
    staff_with(client, "view_post", "view_subscriber")

    response = client.get(page(event, "csv"))

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == attendance.ATTENDEE_FIELDS
    by_email = {row[0]: row for row in rows[1:]}
    assert set(by_email) == {
        "ann@example.org",
        "bob@example.org",
        "cy@example.org",
        "di@example.org",
    }
    assert by_email["bob@example.org"][1] == "'=cmd|' /C calc'!A0"
    assert by_email["cy@example.org"][2] == "waitlist"


def test_check_in_on_the_day_and_undo(client, event):
    staff_with(client, "view_post", "view_subscriber")
    ann = Rsvp.objects.get(subscriber__email="ann@example.org")

    listing = client.get(page(event, "checkin")).content.decode()
    assert "Check in Ann" in listing and "cy@example.org" not in listing  # yes only

    client.post(page(event, "checkin"), {"rsvp": ann.pk, "present": "1"})
    ann.refresh_from_db()
    assert ann.checked_in_at is not None
    assert (
        'Arrived: <strong id="arrived">1</strong> of 2'
        in client.get(page(event, "checkin")).content.decode()
    )

    client.post(page(event, "checkin"), {"rsvp": ann.pk, "present": "0"})
    ann.refresh_from_db()
    assert ann.checked_in_at is None


def test_check_in_refuses_someone_without_a_place(client, event):
    staff_with(client, "view_post", "view_subscriber")
    waiting = Rsvp.objects.get(subscriber__email="cy@example.org")

    response = client.post(page(event, "checkin"), {"rsvp": waiting.pk, "present": "1"})

    assert response.status_code == 400
    waiting.refresh_from_db()
    assert waiting.checked_in_at is None


def test_staff_without_subscriber_data_see_counts_but_no_names(client, event):
    staff_with(client, "view_post")

    detail = client.get(page(event))

    assert detail.status_code == 200
    assert "<dt>Yes</dt><dd>2</dd>" in detail.content.decode()
    assert "ann@example.org" not in detail.content.decode()
    assert client.get(page(event, "csv")).status_code == 403
    assert client.get(page(event, "checkin")).status_code == 403
    assert client.post(page(event, "checkin"), {"rsvp": 1, "present": "1"}).status_code == 403


def test_staff_without_post_access_see_nothing(client, event):
    staff_with(client, "view_subscriber")

    assert client.get(reverse("admin:newsletter_eventattendance_changelist")).status_code == 403
    assert client.get(page(event)).status_code == 403


def test_staff_set_an_event_to_take_rsvps_on_the_posts_page(client, topics):
    from newsletter.models import Post

    staff_with(client, "add_post", "view_post", "add_postengagement")
    response = client.post(
        reverse("admin:newsletter_post_add"),
        {
            "kind": Post.Kind.EVENT,
            "title": "Walk",
            "slug": "walk",
            "topic": topics["events"].pk,
            "status": Post.Status.PUBLISHED,
            "starts_at_0": "2030-06-01",
            "starts_at_1": "10:00",
            "timezone": "Europe/London",
            "references-TOTAL_FORMS": "0",
            "references-INITIAL_FORMS": "0",
            "engagement-TOTAL_FORMS": "1",
            "engagement-INITIAL_FORMS": "0",
            "engagement-0-takes_rsvps": "on",
            "engagement-0-capacity": "40",
            "engagement-0-waitlist": "on",
        },
    )

    assert response.status_code == 302, response.context["errors"]
    post = Post.objects.get(slug="walk")
    assert (post.engagement.takes_rsvps, post.engagement.capacity) == (True, 40)
    assert post.takes_answers()
