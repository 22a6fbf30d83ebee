"""A/B subject tests: staff set one up (and are stopped when it is wrong), a share of the audience
gets the variants, the winner (a sender's choice, or the best click rate among readers who allow
tracking) goes to the rest, everyone once, and the report says what the figures can call.

The first tests run the pipeline in this process; those marked `worker` run it with real Celery
worker processes, Redis and the SMTP sink, and kill a worker between the phases."""

import collections
import re
from datetime import time, timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone

from engage.celery import app as celery_app
from newsletter import delivery, tasks
from newsletter.campaigns import abtest, reports, scheduling, states
from newsletter.delivery import ab_phases
from newsletter.engagement import tracking
from newsletter.models import AuditEvent, Campaign, CampaignVariant, Delivery, Subscriber
from newsletter.subscribers import subscriptions
from tests.campaign_runs import audience, per_recipient, tick_until_sent
from tests.factories import CampaignFactory, PostFactory
from tests.support import wait_until

Status = Campaign.Status
WinnerBy = Campaign.WinnerBy
SUBJECTS = {letter: f"Subject {letter}: our autumn news" for letter in "ABCD"}


def ab_campaign(topics, *, letters="ABC", share=30, winner_by=WinnerBy.STAFF, **fields):
    """A campaign with an A/B test of `letters`, scheduled (frozen) and due."""
    post = PostFactory(topic=topics["news"], url="https://charity.example.org/autumn/")
    campaign = CampaignFactory(
        posts=[post],
        topics=[topics["news"]],
        track_clicks=True,
        test_share=share,
        winner_by=winner_by,
        **fields,
    )
    for letter in letters:
        CampaignVariant.objects.create(
            campaign=campaign,
            letter=letter,
            subject=SUBJECTS[letter],
            preheader=f"Preheader {letter}",
        )
    scheduling.campaign_schedule(campaign=campaign, at=timezone.now() - timedelta(seconds=1))
    return campaign


def readers(topics, count: int, *, tracking: bool = True) -> list[Subscriber]:
    people = audience(topics, count)
    Subscriber.objects.filter(pk__in=[p.pk for p in people]).update(allow_tracking=tracking)
    return people


def subjects(received) -> collections.Counter:
    return collections.Counter(r.message["Subject"] for r in received)


def by_address(received) -> dict:
    return {r.rcpt_tos[0]: r.message for r in received}


def click(client, message) -> None:
    """The reader follows the first tracked link of their message (the real endpoint)."""
    html = message.get_body(("html",)).get_content()
    link = urlsplit(unescape(re.findall(r'href="([^"]*/t/c/[^"]*)"', html)[0]))
    assert client.get(f"{link.path}?{link.query}").status_code == 302


def staff(role: str) -> User:
    user = User.objects.create_user(role, f"{role}@engage.example.org", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def winner_url(campaign, letter):
    return reverse("admin:campaign-winner", args=[campaign.pk, letter])


# --- Setting a test up ---------------------------------------------------------------------------


def campaign_form(topics, post, *, variants, share="20", winner_by="staff", track_clicks=True):
    data = {
        "subject": "Autumn news",
        "slug": "autumn-news",
        "topics": [topics["news"].pk],
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-0-post": post.pk,
        "items-0-position": "0",
        "test_share": share,
        "test_wait": "04:00:00",
        "winner_by": winner_by,
        "variants-TOTAL_FORMS": str(len(variants)),
        "variants-INITIAL_FORMS": "0",
    }
    if track_clicks:
        data["track_clicks"] = "on"
    for i, letter in enumerate(variants):
        data[f"variants-{i}-letter"] = letter
        data[f"variants-{i}-subject"] = f"Subject {i}"
    return data


@pytest.mark.django_db
def test_an_editor_sets_up_a_test_with_two_to_four_subjects(client, topics):
    client.force_login(staff("editor"))
    post = PostFactory(topic=topics["news"])
    add = reverse("admin:newsletter_campaign_add")

    response = client.post(add, campaign_form(topics, post, variants="AB"))

    assert response.status_code == 302, response.context["errors"]
    campaign = Campaign.objects.get(slug="autumn-news")
    assert (campaign.test_share, campaign.test_wait) == (20, timedelta(hours=4))
    assert list(campaign.variants.values_list("letter", "subject")) == [
        ("A", "Subject 0"),
        ("B", "Subject 1"),
    ]
    page = client.get(reverse("admin:newsletter_campaign_change", args=[campaign.pk])).content
    assert "mail privacy proxies fetch every tracking pixel" in page.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change, field, error",
    [
        ({"variants": "A"}, "variants", "An A/B test has 2 to 4 subjects (it has 1)."),
        ({"variants": "ABCDA"}, "variants", "An A/B test has 2 to 4 subjects (it has 5)."),
        ({"share": "0"}, "test_share", "Ensure this value is greater than or equal to 1."),
        ({"share": "51"}, "test_share", "Ensure this value is less than or equal to 50."),
        (
            {"winner_by": "clicks", "track_clicks": False},
            "winner_by",
            "Picking the winner by click rate needs click tracking",
        ),
        ({"share": ""}, "variants", "Give the share of the audience that tests the subjects."),
    ],
)
def test_a_test_set_up_wrong_is_refused_with_the_reason_and_nothing_saved(
    client, topics, change, field, error
):
    client.force_login(staff("editor"))
    post = PostFactory(topic=topics["news"])
    data = campaign_form(topics, post, **{"variants": "AB", **change})

    response = client.post(reverse("admin:newsletter_campaign_add"), data)

    assert response.status_code == 200
    if field == "variants":
        [formset] = [
            f for f in response.context["inline_admin_formsets"] if f.opts.model is CampaignVariant
        ]
        assert error in " ".join(formset.formset.non_form_errors())
    else:
        assert any(error in e for e in response.context["adminform"].form.errors[field])
    assert not Campaign.objects.exists() and not CampaignVariant.objects.exists()


@pytest.mark.django_db
def test_a_test_with_one_subject_cannot_be_scheduled(topics):
    campaign = CampaignFactory(
        posts=[PostFactory(topic=topics["news"])], topics=[topics["news"]], test_share=20
    )
    CampaignVariant.objects.create(campaign=campaign, letter="A", subject="Only one")

    with pytest.raises(states.IllegalTransition, match="2 to 4 subjects"):
        scheduling.campaign_schedule(campaign=campaign)
    assert Campaign.objects.get(pk=campaign.pk).status == Status.DRAFT


def test_a_test_cannot_be_sent_at_a_time_in_each_readers_zone(topics):
    campaign = CampaignFactory(
        posts=[PostFactory(topic=topics["news"])], topics=[topics["news"]], test_share=20
    )
    for letter in "AB":
        CampaignVariant.objects.create(campaign=campaign, letter=letter, subject=SUBJECTS[letter])
    on = (timezone.now() + timedelta(days=2)).date()

    with pytest.raises(states.IllegalTransition, match="each reader's zone"):
        scheduling.campaign_schedule(campaign=campaign, on=on, local_time=time(9))
    saved = Campaign.objects.get(pk=campaign.pk)
    assert (saved.status, saved.local_date, saved.scheduled_at) == (Status.DRAFT, None, None)


@pytest.mark.django_db
def test_the_confirmation_says_who_gets_the_test_and_who_the_winner(client, topics):
    client.force_login(staff("sender"))
    readers(topics, 50)
    post = PostFactory(topic=topics["news"])
    campaign = CampaignFactory(posts=[post], topics=[topics["news"]], test_share=20)
    for letter in "ABC":
        CampaignVariant.objects.create(campaign=campaign, letter=letter, subject=SUBJECTS[letter])
    schedule = reverse("admin:campaign-schedule", args=[campaign.pk])

    page = client.post(schedule, {"at": "2030-01-01T09:00", "timezone": "Europe/London"})

    sentence = "A/B test: 20% (10 people) get A/B/C, winner after 4 hours chosen by a sender"
    assert f"{sentence}, then the rest (40)." in page.content.decode()
    preview = client.get(reverse("admin:campaign-preview", args=[campaign.pk])).content.decode()
    assert sentence in preview and SUBJECTS["C"] in preview


# --- Sending, in this process --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_sender_chooses_the_winner_and_an_editor_cannot(
    client, topics, sink, django_capture_on_commit_callbacks
):
    people = readers(topics, 20)
    campaign = ab_campaign(topics, letters="AB", share=50)
    with django_capture_on_commit_callbacks(execute=True):
        delivery.start_due_campaigns()
    test = sink.wait_for(10)
    assert subjects(test) == {SUBJECTS["A"]: 5, SUBJECTS["B"]: 5}
    for address, message in by_address(test).items():
        row = Delivery.objects.get(campaign=campaign, subscriber__email=address)
        assert message["Subject"] == SUBJECTS[row.variant]
        # Each variant's own preheader: the body cache keeps one body per variant.
        assert f"Preheader {row.variant}" in message.get_body(("html",)).get_content()
    assert delivery.finish_campaigns() == 0  # the rest is owed

    client.force_login(staff("editor"))
    assert client.post(winner_url(campaign, "B")).status_code == 403
    client.force_login(sender := staff("sender"))
    page = client.get(reverse("admin:newsletter_campaign_change", args=[campaign.pk]))
    assert winner_url(campaign, "B") in page.content.decode()
    shown = page.content.decode()
    assert "Send B to the rest…" in shown
    # The bar counts the rest still owed (not 100% once the test share went); the wait's end
    # reads in the staff's own format, not as an ISO string.
    assert "<span>50.0%</span>" in shown and "Test: 10 of 10 sent; rest: 0 of 10" in shown
    due = timezone.localtime(Campaign.objects.get(pk=campaign.pk).test_sent_at + timedelta(hours=4))
    expected = f"{formats.date_format(due, 'DATETIME_FORMAT')} {due:%Z}"
    assert f"A/B test under way: the winner is chosen by a sender from {expected}." in shown
    assert not re.search(r"from \d{4}-\d{2}-\d{2}", shown)
    # The link asks first: each variant's figures, how many get the winner, and a button.
    confirm = client.get(winner_url(campaign, "B"))
    text = confirm.content.decode()
    assert confirm.status_code == 200
    assert "Send B to the rest of the audience: 10 more people?" in text
    assert "Test: 10 of 10 sent; rest: 0 of 10" in text
    assert "Too small to call" in text
    assert 'value="Yes, send B to the rest"' in text
    assert Campaign.objects.get(pk=campaign.pk).winner == ""  # looking chose nothing
    for letter in "AB":
        assert f'<th scope="row">{letter}</th><td>{SUBJECTS[letter]}</td><td>5</td>' in text
    gone = client.get(winner_url(campaign, "Z"))  # no such variant: back, with the reason
    assert gone.status_code == 302
    client.post(winner_url(campaign, "Z"))  # no such variant: nothing happens
    assert Campaign.objects.get(pk=campaign.pk).winner == ""

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(winner_url(campaign, "B"))
    assert response.status_code == 302
    sink.wait_for(20)
    delivery.finish_campaigns()

    assert per_recipient(sink.received) == collections.Counter({p.email: 1 for p in people})
    assert subjects(sink.received) == {SUBJECTS["A"]: 5, SUBJECTS["B"]: 15}
    campaign.refresh_from_db()
    assert (campaign.status, campaign.winner, campaign.sent_count) == (Status.SENT, "B", 20)
    assert AuditEvent.objects.filter(action="choose winner", actor=sender).exists()
    # A second choice changes nothing.
    client.post(winner_url(campaign, "A"))
    assert Campaign.objects.get(pk=campaign.pk).winner == "B"
    # The archive shows the subject the most readers got.
    archive = client.get(reverse("archive-detail", args=[campaign.slug])).content.decode()
    assert f"<h1>{SUBJECTS['B']}</h1>" in archive
    index = client.get(reverse("archive")).content.decode()
    assert SUBJECTS["B"] in index and campaign.subject not in index
    # The reader's own data download names the subject they got.
    reader = Delivery.objects.filter(campaign=campaign, variant="A").first().subscriber
    assert subscriptions.export_data(reader)["emails"][0]["subject"] == SUBJECTS["A"]
    # A copy keeps the test as a draft to adapt.
    copy = states.campaign_duplicate(campaign=campaign)
    assert (copy.test_share, [v.letter for v in copy.variants.all()]) == (50, ["A", "B"])


@pytest.mark.django_db
def test_sending_the_winner_to_the_rest_needs_the_forms_csrf_token(
    topics, sink, django_capture_on_commit_callbacks
):
    readers(topics, 4)
    campaign = ab_campaign(topics, letters="AB", share=50)
    with django_capture_on_commit_callbacks(execute=True):
        delivery.start_due_campaigns()
    sink.wait_for(2)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff("sender"))

    assert browser.post(winner_url(campaign, "B")).status_code == 403  # a forged form
    assert Campaign.objects.get(pk=campaign.pk).winner == ""
    page = browser.get(winner_url(campaign, "B"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    response = browser.post(winner_url(campaign, "B"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).winner == "B"


# --- The report ----------------------------------------------------------------------------------


def figures(letter, tracked, clicked, recipients=None):
    return abtest.VariantFigures(letter, SUBJECTS[letter], recipients or tracked, tracked, clicked)


def test_the_confidence_note_names_its_rule_and_calls_only_a_clear_difference():
    few = [figures("A", 10, 1), figures("B", 10, 3)]
    assert abtest.confidence_note(few).startswith("Too small to call: each of the two best")
    close = [figures("A", 400, 40), figures("B", 400, 44)]
    assert abtest.confidence_note(close).startswith("Too small to call: B and A differ by no more")
    clear = [figures("A", 400, 40), figures("B", 400, 80), figures("C", 400, 20)]
    note = abtest.confidence_note(clear)
    assert note.startswith("B beats A on click rate") and "two-proportion z-test" in note
    assert abtest.p_value(clear[1], clear[0]) < 0.001
    # A tie goes to the earlier letter.
    assert abtest.ranked([figures("B", 10, 2), figures("A", 10, 2)])[0].letter == "A"


@pytest.mark.django_db
def test_the_report_shows_each_variants_recipients_and_clicks(
    client, topics, sink, django_capture_on_commit_callbacks
):
    readers(topics, 12)
    readers(topics, 8, tracking=False)
    campaign = ab_campaign(topics, letters="AB", share=50)
    with django_capture_on_commit_callbacks(execute=True):
        delivery.start_due_campaigns()
    sink.wait_for(10)
    clicked = Delivery.objects.filter(
        campaign=campaign, variant="A", subscriber__allow_tracking=True
    ).first()
    tracking.click_record(delivery=clicked, url="https://charity.example.org/autumn/")

    found = reports.campaign_subject_test(campaign=Campaign.objects.get(pk=campaign.pk))

    rows = Delivery.objects.filter(campaign=campaign, subscriber__allow_tracking=True)
    assert [(v.letter, v.recipients, v.tracked, v.clicked) for v in found.variants] == [
        ("A", 5, rows.filter(variant="A").count(), 1),
        ("B", 5, rows.filter(variant="B").count(), 0),
    ]
    assert found.note.startswith("Too small to call") and found.winner == ""
    client.force_login(staff("sender"))
    page = client.get(reverse("admin:newsletter_campaignreport_change", args=[campaign.pk]))
    html = page.content.decode()
    assert 'id="subject-test"' in html and SUBJECTS["B"] in html
    assert "Too small to call" in html and "No winner yet" in html


# --- With real workers ---------------------------------------------------------------------------

LEASE_SECONDS = 10
WORKER_ENV = {"DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS), "SEND_BATCH_SIZE": "10"}


@pytest.fixture
def short_leases(settings):
    # The sweeper runs here, in the test process (beat), with the workers' lease.
    settings.DELIVERY_LEASE_SECONDS = LEASE_SECONDS


def run_test_phase(campaign, sink, size: int):
    """Beat starts the campaign; the workers send the test share, and it is not finished."""
    tasks.tick()
    wait_until(lambda: len(sink.received) >= size, 60, message="the test share to be sent")
    wait_until(
        lambda: (
            not Delivery.objects.filter(
                campaign=campaign, status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING]
            ).exists()
        ),
        60,
        message="the test's rows to be settled",
    )
    tasks.tick()
    campaign.refresh_from_db()
    assert campaign.status == Status.SENDING and campaign.test_sent_at is not None
    assert len(sink.received) == size


@pytest.mark.worker
@pytest.mark.timeout(240)
@pytest.mark.django_db(transaction=True)
def test_each_variant_goes_to_its_share_then_the_best_click_rate_to_the_rest_once_each(
    client, topics, sink, start_worker, short_leases
):
    start_worker(extra_env=WORKER_ENV)
    people = readers(topics, 60) + readers(topics, 30, tracking=False)
    campaign = ab_campaign(topics, letters="ABC", share=30, winner_by=WinnerBy.CLICKS)

    run_test_phase(campaign, sink, 27)

    test = by_address(sink.received)
    assert subjects(sink.received) == {SUBJECTS[letter]: 9 for letter in "ABC"}
    rows = {
        row.subscriber.email: row
        for row in Delivery.objects.filter(campaign=campaign).select_related("subscriber")
    }
    assert set(rows) == set(test)
    tracked = {letter: [] for letter in "ABC"}
    for address, message in test.items():
        assert message["Subject"] == SUBJECTS[rows[address].variant]
        if "/t/c/" in message.get_body(("html",)).get_content():
            tracked[rows[address].variant].append(message)
    # B's readers who allow tracking all click, one of A's; C's none.
    for message in tracked["B"]:
        click(client, message)
    for message in tracked["A"][:1]:
        click(client, message)
    figures = {f.letter: f for f in abtest.figures(campaign, campaign.snapshot)}
    assert {k: (f.tracked, f.clicked) for k, f in figures.items()} == {
        "A": (len(tracked["A"]), min(1, len(tracked["A"]))),
        "B": (len(tracked["B"]), len(tracked["B"])),
        "C": (len(tracked["C"]), 0),
    }
    assert tracked["B"], "chance gave B no reader who allows tracking: nothing to prove"

    assert ab_phases.pick_due_winners() == 0  # the wait is not over
    later = timezone.now() + campaign.test_wait + timedelta(seconds=1)
    assert ab_phases.pick_due_winners(later) == 1
    tick_until_sent(campaign)

    assert per_recipient(sink.received) == collections.Counter({p.email: 1 for p in people})
    assert subjects(sink.received) == {
        SUBJECTS["A"]: 9,
        SUBJECTS["B"]: 9 + 63,
        SUBJECTS["C"]: 9,
    }
    assert (campaign.winner, campaign.sent_count) == ("B", 90)
    found = reports.campaign_subject_test(campaign=campaign)
    assert [v.recipients for v in found.variants] == [9, 9, 9] and found.rest == 63


@pytest.mark.worker
@pytest.mark.timeout(240)
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_between_the_phases_and_its_queue_lost_loses_and_repeats_nothing(
    topics, sink, start_worker, short_leases
):
    doomed = start_worker(extra_env=WORKER_ENV)
    people = readers(topics, 80)
    campaign = ab_campaign(topics, letters="AB", share=25)
    run_test_phase(campaign, sink, 20)

    doomed.kill()
    ab_phases.choose_winner(campaign=campaign, letter="A")
    with celery_app.connection_for_write() as conn:
        # The rest's preparation is lost with the broker's queue (Redis restarted empty).
        assert celery_app.control.purge(connection=conn) >= 1
    start_worker(extra_env=WORKER_ENV)
    tick_until_sent(campaign)

    assert per_recipient(sink.received) == collections.Counter({p.email: 1 for p in people})
    assert subjects(sink.received) == {SUBJECTS["A"]: 10 + 60, SUBJECTS["B"]: 10}
    assert Delivery.objects.filter(campaign=campaign).count() == 80
    assert campaign.sent_count == 80
