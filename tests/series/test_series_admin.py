"""Series in admin and the rules around them, in-process: per-step counts, who may activate,
edits refused once approved, hostile input, the reader's hour, topic triggers, the demo."""

import re
from datetime import datetime, time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from newsletter import series
from newsletter.models import (
    Delivery,
    Enrolment,
    Post,
    Series,
    SeriesStep,
    SignupRequest,
    Subscriber,
)
from newsletter.series.timing import due_at
from newsletter.subscribers import subscriptions
from newsletter.subscribers.signups import confirm
from tests.campaign_runs import audience
from tests.factories import SubscriberFactory
from tests.series_runs import enrol, welcome_series

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def two_steps():
    return welcome_series(
        {"subject": "Welcome"},
        {"subject": "Ways to help", "delay": 2, "delay_unit": "days"},
    )


def change_page(client, made) -> str:
    response = client.get(reverse("admin:newsletter_series_change", args=[made.pk]))
    assert response.status_code == 200
    return response.content.decode()


def shown_counts(page: str, position: int) -> dict[str, int]:
    row = re.search(rf'<tr data-step="{position}">(.*?)</tr>', page, re.S).group(1)
    return {
        name: int(re.search(rf'<td class="{name}">(\d+)</td>', row).group(1))
        for name in ("waiting", "sent", "failed", "stopped", "opened", "clicked")
    }


def settle(reader, campaign_of_step, status):
    Delivery.objects.filter(subscriber=reader, campaign__series_step=campaign_of_step).update(
        status=status
    )


def test_admin_shows_per_step_how_many_wait_were_sent_failed_and_stopped(
    client, sender, topics, django_capture_on_commit_callbacks
):
    welcome = two_steps()
    first, second = welcome.steps.all()
    a, b, c, d, e = audience(topics, 5)
    now = timezone.now()
    enrol([a, b, c, d, e], now)
    with django_capture_on_commit_callbacks():  # the batches are not run: rows stay queued
        assert series.run_due_steps(now) == 5
    settle(a, first, "sent")
    settle(d, first, "sent")
    settle(b, first, "bounced")
    Subscriber.objects.filter(pk=b.pk).update(status="bounced", suppressed_at=now)
    settle(c, first, "skipped")  # they left before their turn
    Subscriber.objects.filter(pk=c.pk).update(status="unsubscribed", unsubscribed_at=now)

    with django_capture_on_commit_callbacks():
        assert series.run_due_steps(now + 2 * DAY) == 3  # a, d, e
    settle(a, second, "sent")
    Delivery.objects.filter(subscriber__in=[a, d], campaign__series_step=first).update(
        opened_at=now
    )
    Delivery.objects.filter(subscriber=a, campaign__series_step=first).update(clicked_at=now)

    page = change_page(client, welcome)
    assert shown_counts(page, 1) == {
        "waiting": 1, "sent": 2, "failed": 1, "stopped": 1, "opened": 2, "clicked": 1
    }  # fmt: skip
    assert shown_counts(page, 2) == {
        "waiting": 2, "sent": 1, "failed": 0, "stopped": 2, "opened": 0, "clicked": 0
    }  # fmt: skip
    assert "3 finished, 2 stopped" in page.replace("0 active, ", "")
    report = reverse("admin:newsletter_campaignreport_change", args=[first.campaign_id])
    assert f'href="{report}"' in page
    assert client.get(report).status_code == 200
    # Its series runs a step's campaign: the campaign list leaves it out.
    campaigns = client.get(reverse("admin:newsletter_campaign_changelist")).content.decode()
    assert "Ways to help" not in campaigns
    # ... and the campaign reports too: its series' page reports it, per step.
    reports = client.get(reverse("admin:newsletter_campaignreport_changelist"))
    assert reports.status_code == 200
    assert "Ways to help" not in reports.content.decode()
    stopped = Enrolment.objects.filter(status="stopped").values_list("stopped_reason", flat=True)
    assert sorted(stopped) == ["bounced", "unsubscribed"]


def test_an_editor_writes_a_series_but_cannot_activate_it(client, topics):
    editor = User.objects.create_user("ed", "ed@engage.example.org", is_staff=True)
    editor.groups.add(Group.objects.get(name="editor"))
    client.force_login(editor)
    response = client.post(
        reverse("admin:newsletter_series_add"),
        {
            "name": "Welcome",
            "trigger": "confirmed",
            **inline(
                {"position": 1, "subject": "Hello", "body": "Hi.", "delay": 0, "delay_unit": "days"}
            ),
        },
    )
    assert response.status_code == 302
    made = Series.objects.get()
    assert made.steps.get().subject == "Hello"

    changelist = reverse("admin:newsletter_series_changelist")
    data = {"action": "activate_selected", "_selected_action": [made.pk], "index": 0}
    client.post(changelist, data)
    made.refresh_from_db()
    assert (made.status, made.steps.get().campaign) == ("draft", None)


def test_an_active_series_cannot_be_edited_until_it_is_a_draft_again(client, sender, topics):
    welcome = two_steps()
    change = reverse("admin:newsletter_series_change", args=[welcome.pk])
    response = client.post(change, {"name": "Renamed", "trigger": "confirmed"})
    assert response.status_code == 403
    welcome.refresh_from_db()
    assert welcome.name == "Welcome"

    changelist = reverse("admin:newsletter_series_changelist")
    data = {"action": "to_draft_selected", "_selected_action": [welcome.pk], "index": 0}
    client.post(changelist, data)
    welcome.refresh_from_db()
    assert welcome.status == "draft"
    assert set(welcome.steps.values_list("campaign__status", flat=True)) == {"paused"}
    # Edited, then activated again: the step's campaign holds the new words, frozen.
    SeriesStep.objects.filter(series=welcome, position=1).update(subject="Welcome aboard")
    data["action"] = "activate_selected"
    client.post(changelist, data)
    step = welcome.steps.get(position=1)
    assert (step.campaign.status, step.campaign.snapshot.subject) == ("sending", "Welcome aboard")


def inline(*steps: dict) -> dict:
    data = {
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for n, step in enumerate(steps):
        data |= {f"steps-{n}-{name}": value for name, value in step.items()}
    return data


@pytest.mark.parametrize(
    ("fields", "step", "error"),
    [
        ({"trigger": "topic-added"}, {}, "Choose the topic whose readers this series welcomes."),
        ({"trigger": "nonsense"}, {}, "Select a valid choice."),
        ({}, {"delay": "99999999999"}, "A step waits a year at most."),
        ({}, {"delay": "-1"}, "greater than or equal to 0"),
        ({}, {"delay_unit": "weeks"}, "Select a valid choice."),
        ({}, {"at_time": "25:99"}, "Enter a valid time."),
    ],
)
def test_hostile_input_gets_a_field_error_and_changes_nothing(
    client, sender, topics, fields, step, error
):
    good_step = {"position": 1, "subject": "Hi", "body": "Hi.", "delay": 0, "delay_unit": "days"}
    response = client.post(
        reverse("admin:newsletter_series_add"),
        {"name": "Welcome", "trigger": "confirmed", **fields, **inline(good_step | step)},
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Series.objects.exists() and not SeriesStep.objects.exists()


def test_a_series_with_a_step_lacking_text_is_not_activated(client, sender, topics):
    made = Series.objects.create(name="Empty")
    SeriesStep.objects.create(series=made, position=1, subject="Hi")
    changelist = reverse("admin:newsletter_series_changelist")
    data = {"action": "activate_selected", "_selected_action": [made.pk], "index": 0}
    response = client.post(changelist, data, follow=True)
    assert "step 1 has neither text nor posts" in response.content.decode()
    made.refresh_from_db()
    assert made.status == "draft"


def test_a_step_at_a_time_of_day_is_due_at_that_hour_in_the_readers_zone():
    step = SeriesStep(delay=1, delay_unit="days", at_time=time(9, 0))
    reader = Subscriber(time_zone="America/New_York")
    new_york = ZoneInfo("America/New_York")
    # 20:00 in New York on Saturday 31 October 2026: a day later is Sunday 1 November 20:00, the
    # day the clocks go back, so 09:00 the next morning (Monday), in winter time.
    after = datetime(2026, 10, 31, 20, 0, tzinfo=new_york)
    assert due_at(step, reader, after) == datetime(2026, 11, 2, 9, 0, tzinfo=new_york)
    # A reader with no zone of their own gets the organisation's (Europe/London).
    early = datetime(2026, 6, 1, 5, 0, tzinfo=ZoneInfo("UTC"))
    step.delay = 0
    assert due_at(step, Subscriber(), early) == datetime(
        2026, 6, 1, 9, 0, tzinfo=ZoneInfo("Europe/London")
    )


def test_adding_a_topic_enrols_in_its_series_once(topics):
    made = Series.objects.create(
        name="Education", trigger=Series.Trigger.TOPIC_ADDED, topic=topics["education"]
    )
    SeriesStep.objects.create(series=made, position=1, subject="About our guides", body="Read.")
    series.series_activate(series=made)
    reader = SubscriberFactory(active=True, topics=[topics["news"]])

    def choose(*slugs):
        subscriptions.update_preferences(
            subscriber_id=reader.pk, first_name="", topic_slugs=list(slugs), allow_tracking=False
        )

    choose("news", "events")
    assert not Enrolment.objects.exists()
    choose("news", "education")
    choose("news")
    choose("news", "education")
    assert Enrolment.objects.get().series == made

    # A signup confirmed with the topic is enrolled too.
    SubscriberFactory(email="new@example.org")
    signup = SignupRequest.objects.create(
        email="new@example.org", topics=["education"], source="/join/", consent_version="x"
    )
    confirm(signup_id=signup.pk)
    assert Enrolment.objects.filter(series=made, subscriber__email="new@example.org").exists()


def test_the_demo_welcome_series_greets_a_confirmed_signup(
    topics, tmp_path, sink, django_capture_on_commit_callbacks
):
    call_command("seed_demo", password_file=tmp_path / "pw.txt", stdout=StringIO())
    welcome = Series.objects.get(name="Welcome series")
    assert (welcome.status, welcome.trigger, welcome.steps.count()) == ("active", "confirmed", 3)
    SubscriberFactory(email="new@example.org")
    signup = SignupRequest.objects.create(
        email="new@example.org", topics=["news"], source="/join/", consent_version="x"
    )
    confirm(signup_id=signup.pk)
    now = timezone.now()

    for minutes in (0, 2, 4):
        with django_capture_on_commit_callbacks(execute=True):
            series.run_due_steps(now + timedelta(minutes=minutes, seconds=1))
    subjects = [r.message["Subject"] for r in sink.received]
    assert subjects == [step.subject for step in welcome.steps.all()]
    article = Post.objects.get(slug="muscle-twitching-als-or-benign-fasciculations")
    assert article.title in sink.received[1].message.get_body(("plain",)).get_content()


def test_a_readers_data_download_lists_their_series(topics):
    [reader] = audience(topics, 1)
    two_steps()
    now = timezone.now()
    enrol([reader], now)
    series.run_due_steps(now)
    data = subscriptions.export_data(reader)
    [entry] = data["series"]
    assert (entry["series"], entry["status"]) == ("Welcome", "active")
    assert entry["next_email_at"] == (now + 2 * DAY).isoformat()
    assert [email["subject"] for email in data["emails"]] == ["Welcome"]
    subscriptions.erase(subscriber_id=reader.pk)
    assert not Enrolment.objects.exists()
