""" "Count me in": a reader offers to help from the email, the staff contact hears of it once."""

import csv
import io
import json
import re

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from newsletter.campaigns.snapshot import render_body
from newsletter.engagement import interest
from newsletter.mail import rendering
from newsletter.models import Interest, Post, PostEngagement
from newsletter.subscribers.tokens import make_post_token, make_token
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(topics):
    return SubscriberFactory(
        email="vera@example.org", first_name="Vera", active=True, topics=[topics["get-involved"]]
    )


@pytest.fixture
def call(topics):
    post = PostFactory(
        kind=Post.Kind.GET_INVOLVED, topic=topics["get-involved"], title="Volunteer at the fair"
    )
    PostEngagement.objects.create(
        post=post, count_me_in=True, contact_email="volunteers@engage.example.org"
    )
    return post


def count_me_in_link(campaign, subscriber) -> str:
    body = render_body(campaign, frozenset({"get-involved"}))
    html = rendering.personalise(body, subscriber).html
    [href] = re.findall(r'<a [^>]*href="([^"]+)"[^>]*>Count me in</a>', html)
    return href.removeprefix("http://127.0.0.1:8000")


def test_a_reader_counts_themselves_in_and_the_contact_hears_once(
    client, reader, call, topics, sink, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(posts=[call], topics=[topics["get-involved"]])
    link = count_me_in_link(campaign, reader)

    page = client.get(link)
    assert page.status_code == 200
    assert page.content.decode().count("<button") == 1
    assert not Interest.objects.exists()  # a GET (a mail scanner) records nothing

    for _ in range(2):  # a double click
        with django_capture_on_commit_callbacks(execute=True):
            thanks = client.post(link)
        assert thanks.status_code == 200
        assert "Thank you" in thanks.content.decode()

    assert list(Interest.objects.values_list("post_id", "subscriber_id")) == [(call.pk, reader.pk)]
    [told] = sink.received
    assert told.rcpt_tos == ["volunteers@engage.example.org"]
    message = told.message
    assert message["Subject"] == "Count me in: Volunteer at the fair"
    assert message["Reply-To"] == "vera@example.org"
    assert "Vera <vera@example.org>" in message.get_body(("plain",)).get_content()


def test_the_text_part_has_the_same_link(reader, call, topics):
    campaign = CampaignFactory(posts=[call], topics=[topics["get-involved"]])
    body = render_body(campaign, frozenset({"get-involved"}))

    text = rendering.personalise(body, reader).text

    assert f"Count me in: {interest.interest_url(reader.pk, call.pk)}" in text


def test_a_forged_or_foreign_token_is_refused(client, reader, call):
    token = make_post_token("interest", reader.pk, call.pk)
    for bad in (token[:-2] + "xx", make_token("unsubscribe", reader.pk)):
        response = client.post(f"/involved/{bad}/")
        assert response.status_code == 400
    # An RSVP link cannot be used as a "count me in" link either: the purposes differ.
    rsvp_token = make_post_token("rsvp", reader.pk, call.pk)
    assert client.post(f"/involved/{rsvp_token}/").status_code == 400
    assert not Interest.objects.exists()


def test_a_post_without_the_button_gets_404(client, reader, topics):
    post = PostFactory(kind=Post.Kind.GET_INVOLVED, topic=topics["get-involved"])

    response = client.post(f"/involved/{make_post_token('interest', reader.pk, post.pk)}/")

    assert response.status_code == 404
    assert not Interest.objects.exists()


def test_interest_is_in_the_export_and_goes_with_erasure(client, reader, call):
    interest.count_me_in(subscriber_id=reader.pk, post=call)
    page = f"/preferences/{make_token('preferences', reader.pk)}/"

    data = json.loads(client.post(page, {"action": "export"}).content)
    assert [item["post"] for item in data["count_me_in"]] == ["Volunteer at the fair"]

    client.post(page, {"action": "erase-confirmed"})
    assert not Interest.objects.exists()


@pytest.fixture
def manager(client):
    user = User.objects.create_user("manager", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_post", "view_subscriber"])
    )
    client.force_login(user)
    return user


def test_staff_list_and_export_the_interested_readers_formula_safe(client, manager, call):
    sneaky = SubscriberFactory(email="sneaky@example.org", first_name="=HYPERLINK(1)", active=True)
    interest.count_me_in(subscriber_id=sneaky.pk, post=call)

    page = client.get(reverse("admin:newsletter_involvementinterest_change", args=[call.pk]))
    assert page.status_code == 200
    assert "sneaky@example.org" in page.content.decode()

    export = client.get(reverse("admin:newsletter_involvementinterest_csv", args=[call.pk]))
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0] == ["email", "first_name", "status", "at"]
    assert rows[1][:2] == ["sneaky@example.org", "'=HYPERLINK(1)"]


def test_staff_without_subscriber_data_see_the_count_but_no_one(client, call, reader):
    interest.count_me_in(subscriber_id=reader.pk, post=call)
    editor = User.objects.create_user("editor", is_staff=True)
    editor.user_permissions.add(Permission.objects.get(codename="view_post"))
    client.force_login(editor)

    page = client.get(reverse("admin:newsletter_involvementinterest_change", args=[call.pk]))
    export = client.get(reverse("admin:newsletter_involvementinterest_csv", args=[call.pk]))

    assert page.status_code == 200
    assert "vera@example.org" not in page.content.decode()
    assert export.status_code == 403
