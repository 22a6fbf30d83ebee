from datetime import UTC, datetime

import icalendar
import pytest
from django.urls import reverse

from newsletter.models import Post
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def walk(topics):
    return PostFactory(
        kind=Post.Kind.EVENT,
        topic=topics["events"],
        title="Walk for research",
        slug="walk-for-research",
        summary="Five kilometres around the park.",
        starts_at=datetime(2026, 7, 4, 9, 0, tzinfo=UTC),  # 10:00 in London (BST)
        ends_at=datetime(2026, 7, 4, 12, 0, tzinfo=UTC),
        timezone="Europe/London",
        location="Regent's Park, London",
        registration_url="https://engage.example.org/walk/register/",
    )


def test_an_event_downloads_as_an_rfc_5545_calendar_file(client, walk):
    response = client.get(reverse("event-ics", args=["walk-for-research"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert 'filename="walk-for-research.ics"' in response["Content-Disposition"]
    calendar = icalendar.Calendar.from_ical(response.content)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"event-{walk.pk}@news.engage.example.org"
    assert event["DTSTAMP"].dt.tzinfo is not None
    start, end = event["DTSTART"], event["DTEND"]
    assert start.params["TZID"] == "Europe/London"
    assert start.dt.replace(tzinfo=None) == datetime(2026, 7, 4, 10, 0)
    assert end.dt.replace(tzinfo=None) == datetime(2026, 7, 4, 13, 0)
    assert str(event["SUMMARY"]) == "Walk for research"
    assert str(event["LOCATION"]) == "Regent's Park, London"
    assert str(event["URL"]) == "https://engage.example.org/walk/register/"
    assert "Five kilometres" in str(event["DESCRIPTION"])
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]


def test_the_uid_stays_the_same_across_downloads(client, walk):
    first, second = (client.get(f"/events/{walk.slug}.ics").content for _ in range(2))
    uid = [icalendar.Calendar.from_ical(c).walk("VEVENT")[0]["UID"] for c in (first, second)]
    assert uid[0] == uid[1]


def test_an_event_without_an_end_lasts_an_hour(client, walk):
    walk.ends_at = None
    walk.save()
    event = icalendar.Calendar.from_ical(client.get(f"/events/{walk.slug}.ics").content).walk(
        "VEVENT"
    )[0]
    assert (event["DTEND"].dt - event["DTSTART"].dt).total_seconds() == 3600


def test_only_published_events_have_a_calendar_file(client, walk, topics):
    walk.status = Post.Status.DRAFT
    walk.save()
    PostFactory(topic=topics["news"], slug="just-news")
    assert client.get("/events/walk-for-research.ics").status_code == 404
    assert client.get("/events/just-news.ics").status_code == 404
    assert client.get("/events/nothing.ics").status_code == 404
