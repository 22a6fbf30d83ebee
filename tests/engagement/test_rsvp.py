"""RSVPs: a reader answers an event from their email, as they would, and staff get true lists."""

import json
import re
import threading
from datetime import timedelta

import icalendar
import pytest
from django.db import connection
from django.utils import timezone

from newsletter.campaigns.snapshot import render_body
from newsletter.engagement import rsvp
from newsletter.mail import rendering
from newsletter.models import Rsvp, Subscriber
from newsletter.subscribers import subscriptions
from newsletter.subscribers.tokens import make_post_token, make_token
from tests.factories import CampaignFactory, SubscriberFactory, event_taking_rsvps

YES, NO, WAITLIST = Rsvp.Answer.YES, Rsvp.Answer.NO, Rsvp.Answer.WAITLIST
UNCONFIRMED = Rsvp.Answer.UNCONFIRMED


@pytest.fixture
def reader(topics):
    return SubscriberFactory(
        email="rita@example.org", first_name="Rita", active=True, topics=[topics["events"]]
    )


@pytest.fixture
def event(topics):
    return event_taking_rsvps(topics["events"], title="Walk for research", slug="walk")


def links_in_email(campaign, subscriber) -> dict[str, str]:
    """The reader's "I'll be there" and "Can't make it" links, from the HTML part they get."""
    body = render_body(campaign, frozenset({"events"}))
    html = rendering.personalise(body, subscriber).html
    found = dict(
        (label, href)
        for href, label in re.findall(r'<a [^>]*href="([^"]+)"[^>]*>([^<]+)</a>', html)
    )
    return {"yes": found["I'll be there"], "no": found["Can't make it"]}


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000").removeprefix("https://engage.example.org")


def answer_table() -> list[tuple]:
    return list(Rsvp.objects.order_by("id").values_list("post_id", "subscriber_id", "answer"))


def test_a_reader_answers_from_the_email_and_changes_their_mind(
    client, reader, event, topics, sink, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(posts=[event], topics=[topics["events"]])
    links = links_in_email(campaign, reader)

    # A mail scanner, or the reader, opening the link records nothing: one button to press.
    page = client.get(path_of(links["yes"]))
    assert page.status_code == 200
    assert page.content.decode().count("<button") == 1
    assert "I'll be there" in page.content.decode()
    assert answer_table() == []

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(path_of(links["yes"]), {"answer": "yes"})
    assert done.status_code == 200
    assert "See you there" in done.content.decode()
    assert answer_table() == [(event.pk, reader.pk, YES)]

    # Pressing again (a double click, a reload) changes nothing and sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(path_of(links["yes"]), {"answer": "yes"})
    assert again.status_code == 200
    assert answer_table() == [(event.pk, reader.pk, YES)]
    assert len(sink.received) == 1

    # The same email's other link changes the answer.
    assert client.get(path_of(links["no"])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path_of(links["no"]), {"answer": "no"})
    assert answer_table() == [(event.pk, reader.pk, NO)]
    assert len(sink.received) == 2


def test_the_confirmation_carries_the_event_as_a_valid_ics(
    client, reader, event, sink, django_capture_on_commit_callbacks
):
    url = rsvp.rsvp_url(rsvp.Reader(subscriber_id=reader.pk), event.pk)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path_of(url), {"answer": "yes"})

    [received] = sink.received
    message = received.message
    assert received.rcpt_tos == ["rita@example.org"]
    assert message["Subject"] == "You're going to Walk for research"
    assert "you're going to Walk for research" in message.get_body(("plain",)).get_content()
    assert "You're going" in message.get_body(("html",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "walk.ics"
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Walk for research"
    assert vevent["DTSTART"].dt == event.starts_at
    assert str(vevent["LOCATION"]) == "Community Hall, Leeds"


def test_a_forged_token_is_refused_and_nothing_is_stored(client, reader, event):
    token = make_post_token("rsvp", reader.pk, event.pk)
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")

    response = client.post(f"/rsvp/{forged}/", {"answer": "yes"})

    assert response.status_code == 400
    assert answer_table() == []


def test_a_token_for_one_event_cannot_answer_another(client, reader, event, topics):
    other = event_taking_rsvps(topics["events"], slug="gala")
    token = make_post_token("rsvp", reader.pk, event.pk)
    for_other = token.replace(f"{reader.pk}:{event.pk}:", f"{reader.pk}:{other.pk}:", 1)

    response = client.post(f"/rsvp/{for_other}/", {"answer": "yes"})

    assert response.status_code == 400
    assert answer_table() == []


@pytest.mark.parametrize("purpose", ["unsubscribe", "preferences"])
def test_another_purposes_token_is_refused(client, reader, event, purpose):
    response = client.post(f"/rsvp/{make_token(purpose, reader.pk)}/", {"answer": "yes"})

    assert response.status_code == 400
    assert answer_table() == []


def test_a_bad_answer_gets_400_and_stores_nothing(client, reader, event):
    url = path_of(rsvp.rsvp_url(rsvp.Reader(subscriber_id=reader.pk), event.pk))

    response = client.post(url, {"answer": "maybe"})

    assert response.status_code == 400
    assert "Choose" in response.content.decode()
    assert answer_table() == []


def test_after_the_deadline_answers_are_closed(client, reader, event):
    event.engagement.rsvp_deadline = timezone.now() - timedelta(minutes=1)
    event.engagement.save()
    url = path_of(rsvp.rsvp_url(rsvp.Reader(subscriber_id=reader.pk), event.pk))

    assert client.get(url).status_code == 410
    response = client.post(url, {"answer": "yes"})

    assert response.status_code == 410
    assert "closed" in response.content.decode()
    assert answer_table() == []


def test_a_full_event_puts_the_next_reader_on_the_waitlist_and_promotes_them(
    topics, sink, django_capture_on_commit_callbacks
):
    event = event_taking_rsvps(topics["events"], capacity=1, title="Tea party")
    first, second = SubscriberFactory.create_batch(2, active=True)

    with django_capture_on_commit_callbacks(execute=True):
        rsvp.rsvp_answer(reader=rsvp.Reader(subscriber_id=first.pk), post_id=event.pk, answer=YES)
        waiting = rsvp.rsvp_answer(
            reader=rsvp.Reader(subscriber_id=second.pk), post_id=event.pk, answer=YES
        )
    assert waiting.answer == WAITLIST
    assert rsvp.counts(event)["places_left"] == 0
    sink.reset()

    # The first one can't come after all: the place goes to the first on the waitlist, by email.
    with django_capture_on_commit_callbacks(execute=True):
        rsvp.rsvp_answer(reader=rsvp.Reader(subscriber_id=first.pk), post_id=event.pk, answer=NO)

    assert dict(Rsvp.objects.values_list("subscriber_id", "answer")) == {
        first.pk: NO,
        second.pk: YES,
    }
    told = {r.rcpt_tos[0]: r.message["Subject"] for r in sink.received}
    assert told[second.email] == "A place has opened: you're going to Tea party"


def test_a_full_event_without_a_waitlist_says_so_and_stores_nothing(client, topics):
    event = event_taking_rsvps(topics["events"], capacity=1, waitlist=False)
    first, second = SubscriberFactory.create_batch(2, active=True)
    rsvp.rsvp_answer(reader=rsvp.Reader(subscriber_id=first.pk), post_id=event.pk, answer=YES)
    before = answer_table()

    url = path_of(rsvp.rsvp_url(rsvp.Reader(subscriber_id=second.pk), event.pk))
    response = client.post(url, {"answer": "yes"})

    assert response.status_code == 409
    assert "full" in response.content.decode()
    assert answer_table() == before


@pytest.mark.django_db(transaction=True)
def test_two_readers_racing_for_the_last_place_one_gets_it(topics, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    event = event_taking_rsvps(topics["events"], capacity=3)
    readers = SubscriberFactory.create_batch(8, active=True)
    start = threading.Barrier(len(readers))
    errors = []

    def answer_yes(subscriber):
        try:
            start.wait()  # every transaction starts at once, each on its own connection
            rsvp.rsvp_answer(
                reader=rsvp.Reader(subscriber_id=subscriber.pk), post_id=event.pk, answer=YES
            )
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=answer_yes, args=[r]) for r in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    answers = list(Rsvp.objects.filter(post=event).values_list("answer", flat=True))
    assert sorted(answers) == [WAITLIST] * 5 + [YES] * 3
    waitlist = Rsvp.objects.filter(post=event, answer=WAITLIST).order_by("waitlisted_at", "id")
    # A place freed now goes to the first who joined the waitlist, and to no one else.
    leaving = Rsvp.objects.filter(post=event, answer=YES).first()
    first_waiting = waitlist.first().subscriber_id
    rsvp.rsvp_answer(
        reader=rsvp.Reader(subscriber_id=leaving.subscriber_id), post_id=event.pk, answer=NO
    )
    assert Rsvp.objects.get(post=event, subscriber_id=first_waiting).answer == YES
    assert Rsvp.objects.filter(post=event, answer=YES).count() == 3


def test_the_export_holds_rsvps_and_erasure_deletes_them_and_frees_the_place(
    client, topics, reader, sink, django_capture_on_commit_callbacks
):
    event = event_taking_rsvps(topics["events"], capacity=1, title="Quiz night")
    waiting = SubscriberFactory(active=True)
    rsvp.rsvp_answer(reader=rsvp.Reader(subscriber_id=reader.pk), post_id=event.pk, answer=YES)
    rsvp.rsvp_answer(reader=rsvp.Reader(subscriber_id=waiting.pk), post_id=event.pk, answer=YES)
    page = f"/preferences/{make_token('preferences', reader.pk)}/"

    data = json.loads(client.post(page, {"action": "export"}).content)
    assert data["rsvps"] == [
        {
            "event": "Quiz night",
            "answer": "yes",
            "answered_at": data["rsvps"][0]["answered_at"],
            "checked_in_at": None,
        }
    ]

    with django_capture_on_commit_callbacks(execute=True):
        client.post(page, {"action": "erase-confirmed"})

    assert not Subscriber.objects.filter(pk=reader.pk).exists()
    assert list(Rsvp.objects.values_list("subscriber_id", "answer")) == [(waiting.pk, YES)]
    assert [r.rcpt_tos for r in sink.received] == [[waiting.email]]


def test_the_archive_offers_the_public_page_not_a_readers_link(client, topics, event):
    campaign = CampaignFactory(posts=[event], topics=[topics["events"]], status="sent")

    html = client.get(f"/archive/{campaign.slug}/").content.decode()

    assert "/events/walk/rsvp/" in html
    assert "/rsvp/" not in html.replace("/events/walk/rsvp/", "")
    assert "%%ENGAGE" not in html


def test_the_text_part_carries_the_same_links(reader, event, topics):
    campaign = CampaignFactory(posts=[event], topics=[topics["events"]])
    body = render_body(campaign, frozenset({"events"}))

    text = rendering.personalise(body, reader).text

    yes = rsvp.rsvp_url(rsvp.Reader(subscriber_id=reader.pk), event.pk, "yes")
    assert f"I'll be there: {yes}" in text
    assert "%%ENGAGE" not in text


def test_a_post_without_rsvps_has_no_buttons(reader, topics):
    from tests.factories import PostFactory

    campaign = CampaignFactory(
        posts=[PostFactory(topic=topics["events"])], topics=[topics["events"]]
    )
    body = render_body(campaign, frozenset({"events"}))

    assert "I'll be there" not in body.html and "I'll be there" not in body.text


# --- Visitors who are not subscribers --------------------------------------------------------


def test_a_visitor_answers_from_the_event_page_through_an_emailed_link(
    client, event, sink, django_capture_on_commit_callbacks
):
    assert client.get("/events/walk/rsvp/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/events/walk/rsvp/", {"email": "Guest@Example.org", "first_name": "Gus"}
        )
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    # Nothing counts until the visitor uses the link.
    assert rsvp.counts(event)[YES] == 0
    [link_email] = sink.received
    assert link_email.rcpt_tos == ["guest@example.org"]
    yes_link = re.search(
        r"I'll be there: (\S+)", link_email.message.get_body(("plain",)).get_content()
    )[1]

    with django_capture_on_commit_callbacks(execute=True):
        client.post(path_of(yes_link), {"answer": "yes"})

    assert list(Rsvp.objects.values_list("email", "subscriber_id", "answer")) == [
        ("guest@example.org", None, YES)
    ]
    # Answering did not subscribe them to anything.
    assert not Subscriber.objects.exists()
    assert sink.received[-1].message["Subject"] == "You're going to Walk for research"


def test_a_visitor_who_ticks_join_gets_the_usual_double_opt_in(
    client, event, sink, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/events/walk/rsvp/", {"email": "joiner@example.org", "join": "on"})
    visitor = Rsvp.objects.get(email="joiner@example.org")
    url = path_of(rsvp.rsvp_url(rsvp.Reader(rsvp_id=visitor.pk), event.pk))

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"answer": "yes"})

    subscriber = Subscriber.objects.get(email="joiner@example.org")
    assert subscriber.status == Subscriber.Status.PENDING
    assert [t.slug for t in subscriber.topics.all()] == ["events"]
    subjects = [r.message["Subject"] for r in sink.received]
    assert any(subject.startswith("Please confirm") for subject in subjects)


def test_the_event_page_refuses_a_bad_address_with_a_field_error(client, event):
    response = client.post("/events/walk/rsvp/", {"email": "not an address"})

    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert not Rsvp.objects.exists()


def test_asking_twice_for_the_link_sends_one_email(
    client, event, sink, django_capture_on_commit_callbacks
):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/events/walk/rsvp/", {"email": "guest@example.org"})

    assert len(sink.received) == 1


def test_a_subscriber_unknown_since_gets_404_and_nothing_is_stored(client, reader, event):
    url = path_of(rsvp.rsvp_url(rsvp.Reader(subscriber_id=reader.pk), event.pk))
    subscriptions.erase(subscriber_id=reader.pk)

    response = client.post(url, {"answer": "yes"})

    assert response.status_code == 404
    assert answer_table() == []


# --- The campaign report ---------------------------------------------------------------------


def test_the_campaign_report_shows_answers_per_post_beside_clicks(client, topics):
    from django.contrib.auth.models import User

    from newsletter.campaigns import reports
    from newsletter.engagement import interest
    from newsletter.models import Click, Post, PostEngagement
    from tests import ledger

    event = event_taking_rsvps(topics["events"], capacity=1, title="Gala")
    call = ledger.post(topics["events"], kind=Post.Kind.GET_INVOLVED, title="Help at the gala")
    PostEngagement.objects.create(post=call, count_me_in=True)
    campaign = ledger.campaign(topics["events"], posts=[event, call], started_at=timezone.now())
    ann, bob, outsider = (ledger.subscriber() for _ in range(3))
    for person in (ann, bob):
        row = ledger.delivery(campaign, person)
    Click.objects.create(delivery=row, post=event, url=event.url)
    for person in (ann, bob, outsider):
        rsvp.rsvp_answer(reader=rsvp.Reader(subscriber_id=person.pk), post_id=event.pk, answer=YES)
    interest.count_me_in(subscriber_id=ann.pk, post=call)

    answers = reports.campaign_post_answers(campaign_id=campaign.pk)

    # The outsider answered too, but did not get this campaign.
    assert [(a.post_title, a.clicked, a.yes, a.waitlist, a.count_me_in) for a in answers] == [
        ("Gala", 1, 1, 1, 0),
        ("Help at the gala", 0, 0, 0, 1),
    ]
    client.force_login(User.objects.create_superuser("boss", "boss@example.org", "pw"))
    html = client.get(f"/admin/newsletter/campaignreport/{campaign.pk}/change/").content.decode()
    assert "<td>Gala</td><td>1</td><td>1</td><td>0</td><td>1</td><td>0</td>" in html


# --- The day-before reminder -----------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_day_before_each_yes_gets_one_reminder_through_a_real_worker(
    topics, sink, start_worker
):
    import time_machine

    from newsletter import tasks
    from newsletter.models import Campaign, EventReminder
    from tests.campaign_runs import per_recipient, tick_until_sent

    start_worker()
    now = timezone.now()
    event = event_taking_rsvps(topics["events"], capacity=3, title="Picnic")
    event.starts_at = now + timedelta(hours=23)  # so the reminder is due an hour ago
    event.save()
    events_reader = SubscriberFactory(active=True, topics=[topics["events"]])
    news_reader = SubscriberFactory(active=True, topics=[topics["news"]])  # yes, other topics
    leaver = SubscriberFactory(active=True, topics=[topics["events"]])
    declined = SubscriberFactory(active=True, topics=[topics["events"]])
    waiting = SubscriberFactory(active=True, topics=[topics["events"]])
    for person, answer in [
        (events_reader, YES),
        (news_reader, YES),
        (leaver, YES),
        (declined, NO),
        (waiting, YES),
    ]:
        rsvp.rsvp_answer(
            reader=rsvp.Reader(subscriber_id=person.pk), post_id=event.pk, answer=answer
        )
    subscriptions.unsubscribe(subscriber_id=leaver.pk)  # unsubscribed from everything
    sink.wait_for(5)  # the five confirmations, sent by the worker
    sink.reset()

    with time_machine.travel(now - timedelta(days=3), tick=False):
        tasks.tick()  # four days before: too early to plan a reminder
    assert not EventReminder.objects.exists()

    with time_machine.travel(now - timedelta(hours=36), tick=False):
        tasks.tick()  # two and a half days before: planned, not yet due
        tasks.tick()  # a second tick plans nothing more
    [reminder] = EventReminder.objects.all()
    campaign = reminder.campaign
    assert campaign.status == Campaign.Status.SCHEDULED
    assert campaign.scheduled_at == event.starts_at - timedelta(days=1)
    assert sink.received == []

    tick_until_sent(campaign)  # the day before, for real: the worker sends it
    for _ in range(3):
        tasks.tick()

    assert per_recipient(sink.received) == {events_reader.email: 1, news_reader.email: 1}
    assert EventReminder.objects.count() == 1
    message = sink.received[0].message
    assert message["Subject"] == "Tomorrow: Picnic"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = message.get_body(("html",)).get_content()
    assert "Can't make it" in html and "/rsvp/" in html


def test_a_visitor_who_said_yes_gets_one_reminder_the_day_before(
    client, event, sink, django_capture_on_commit_callbacks
):
    import time_machine

    from newsletter.engagement import event_reminders

    Rsvp.objects.create(post=event, email="guest@example.org", answer=YES)
    Rsvp.objects.create(post=event, email="nope@example.org", answer=NO)

    with time_machine.travel(event.starts_at - timedelta(days=2), tick=False):
        assert event_reminders.send_guest_reminders() == 0
    with (
        time_machine.travel(event.starts_at - timedelta(hours=20), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert event_reminders.send_guest_reminders() == 1
        assert event_reminders.send_guest_reminders() == 0

    assert [r.rcpt_tos for r in sink.received] == [["guest@example.org"]]
    assert sink.received[0].message["Subject"] == "Tomorrow: Walk for research"


def test_the_planned_reminder_is_in_the_campaign_list_for_staff(client, event, reader):
    import time_machine
    from django.contrib.auth.models import User

    from newsletter.engagement import event_reminders

    rsvp.rsvp_answer(reader=rsvp.Reader(subscriber_id=reader.pk), post_id=event.pk, answer=YES)
    with time_machine.travel(event.starts_at - timedelta(days=2, hours=12), tick=False):
        assert event_reminders.schedule_due_reminders() == 1
    client.force_login(User.objects.create_superuser("boss", "boss@example.org", "pw"))

    listing = client.get("/admin/newsletter/campaign/").content.decode()

    assert "Tomorrow: Walk for research" in listing
    # Reminders are for attendees: the public archive does not list them, even once sent.
    from newsletter.models import Campaign

    Campaign.objects.filter(event_reminder__post=event).update(
        status=Campaign.Status.SENT, finished_at=timezone.now()
    )
    assert "Tomorrow" not in client.get("/archive/").content.decode()


def test_raising_the_capacity_gives_the_new_places_to_the_waitlist_in_order(
    topics, sink, django_capture_on_commit_callbacks
):
    from newsletter import tasks

    event = event_taking_rsvps(topics["events"], capacity=1, title="Concert")
    first, second, third = SubscriberFactory.create_batch(3, active=True)
    for person in (first, second, third):
        rsvp.rsvp_answer(reader=rsvp.Reader(subscriber_id=person.pk), post_id=event.pk, answer=YES)
    event.engagement.capacity = 2
    event.engagement.save()

    with django_capture_on_commit_callbacks(execute=True):
        tasks.tick()

    assert dict(Rsvp.objects.values_list("subscriber_id", "answer")) == {
        first.pk: YES,
        second.pk: YES,
        third.pk: WAITLIST,
    }
    assert [r.rcpt_tos for r in sink.received] == [[second.email]]


def test_a_planned_reminder_moves_with_its_event_and_goes_when_the_event_does(event, reader):
    import time_machine

    from newsletter.engagement import event_reminders
    from newsletter.models import Campaign, Post

    planned_at = event.starts_at - timedelta(days=2, hours=12)
    with time_machine.travel(planned_at, tick=False):
        event_reminders.schedule_due_reminders()
        event.starts_at += timedelta(hours=5)  # staff move the event
        event.save()
        assert event_reminders.follow_moved_events() == 1
        campaign = Campaign.objects.get(event_reminder__post=event)
        assert campaign.scheduled_at == event.starts_at - timedelta(days=1)
        assert event_reminders.follow_moved_events() == 0

        Post.objects.filter(pk=event.pk).update(status=Post.Status.DRAFT)  # and withdraw it
        assert event_reminders.follow_moved_events() == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED


def test_a_visitor_can_have_their_answer_and_address_forgotten(client, topics):
    event = event_taking_rsvps(topics["events"], capacity=1, slug="fair")
    visitor = Rsvp.objects.create(post=event, email="guest@example.org", answer=UNCONFIRMED)
    url = path_of(rsvp.rsvp_url(rsvp.Reader(rsvp_id=visitor.pk), event.pk))
    client.post(url, {"answer": "yes"})
    waiting = SubscriberFactory(active=True)
    rsvp.rsvp_answer(reader=rsvp.Reader(subscriber_id=waiting.pk), post_id=event.pk, answer=YES)

    page = client.get(url, {"answer": "forget"})
    assert page.content.decode().count("<button") == 1
    assert Rsvp.objects.filter(email="guest@example.org").exists()  # a GET forgets nothing
    response = client.post(url, {"answer": "forget"})

    assert "Your answer is forgotten" in response.content.decode()
    assert list(Rsvp.objects.values_list("email", "subscriber_id", "answer")) == [
        ("", waiting.pk, YES)  # the freed place went to the waitlist
    ]


def test_a_subscriber_cannot_use_forget_on_the_rsvp_page(client, reader, event):
    url = path_of(rsvp.rsvp_url(rsvp.Reader(subscriber_id=reader.pk), event.pk))
    client.post(url, {"answer": "yes"})

    response = client.post(url, {"answer": "forget"})

    assert response.status_code == 400
    assert answer_table() == [(event.pk, reader.pk, YES)]


def test_a_visitor_can_still_be_forgotten_once_answers_are_closed(client, event):
    visitor = Rsvp.objects.create(post=event, email="guest@example.org", answer=YES)
    url = path_of(rsvp.rsvp_url(rsvp.Reader(rsvp_id=visitor.pk), event.pk))
    event.engagement.rsvp_deadline = timezone.now() - timedelta(minutes=1)
    event.engagement.save()

    assert client.get(url, {"answer": "forget"}).status_code == 200
    assert client.post(url, {"answer": "forget"}).status_code == 200
    assert not Rsvp.objects.exists()


def test_erasure_also_forgets_an_answer_given_as_a_visitor_with_the_same_address(
    reader, event, topics
):
    other = event_taking_rsvps(topics["events"], slug="other")
    Rsvp.objects.create(post=other, email=reader.email, answer=YES)
    Rsvp.objects.create(post=other, email="someone-else@example.org", answer=YES)

    subscriptions.erase(subscriber_id=reader.pk)

    assert list(Rsvp.objects.values_list("email", flat=True)) == ["someone-else@example.org"]
