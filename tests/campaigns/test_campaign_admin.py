from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.urls import reverse

from newsletter.campaigns.states import transition
from newsletter.models import ApprovedTestAddress, Campaign, DigestSchedule, Post
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

pytestmark = pytest.mark.django_db
Status = Campaign.Status


@pytest.fixture
def campaign(topics):
    posts = [
        PostFactory(topic=topics["news"], title="Clinic opens"),
        PostFactory(topic=topics["events"], title="Charity walk"),
    ]
    return CampaignFactory(
        subject="November issue", topics=[topics["news"], topics["events"]], posts=posts
    )


def url(name, campaign, *args):
    return reverse(f"admin:{name}", args=[campaign.pk, *args])


def action(client, campaign, name):
    return client.post(url("campaign-action", campaign, name))


def status_of(campaign):
    return Campaign.objects.get(pk=campaign.pk).status


def test_staff_compose_a_campaign_with_ordered_posts_and_an_audience(client, superuser, topics):
    first, second = PostFactory(topic=topics["news"]), PostFactory(topic=topics["events"])
    response = client.post(
        reverse("admin:newsletter_campaign_add"),
        {
            "subject": "December issue",
            "slug": "december-issue",
            "preheader": "Festive news",
            "intro": "Hello **all**",
            "topics": [topics["news"].pk, topics["events"].pk],
            "items-TOTAL_FORMS": "2",
            "items-INITIAL_FORMS": "0",
            "items-0-post": second.pk,
            "items-0-position": "2",
            "items-1-post": first.pk,
            "items-1-position": "1",
            "variants-TOTAL_FORMS": "0",
            "variants-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["errors"]
    campaign = Campaign.objects.get(slug="december-issue")
    assert campaign.status == Status.DRAFT and campaign.created_by == superuser
    assert [item.post for item in campaign.items.all()] == [first, second]
    assert set(campaign.topics.all()) == {topics["news"], topics["events"]}


def test_the_change_page_offers_the_campaign_actions_and_the_audience(client, superuser, campaign):
    SubscriberFactory(active=True, topics=[campaign.topics.first()])
    html = client.get(reverse("admin:newsletter_campaign_change", args=[campaign.pk])).content
    html = html.decode()
    for link in ("campaign-preview", "campaign-test", "campaign-schedule"):
        assert url(link, campaign) in html
    assert "This goes to 1 person." in html
    assert client.get(reverse("admin:newsletter_campaign_changelist")).status_code == 200


def test_the_preview_shows_the_html_in_a_sandboxed_frame_beside_the_text(
    client, superuser, campaign
):
    response = client.get(url("campaign-preview", campaign))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<iframe sandbox=""' in html and "srcdoc=" in html
    assert "Clinic opens" in html and "Charity walk" in html
    assert "<pre>" in html


def test_the_preview_shows_what_a_chosen_topic_or_subscriber_would_see(
    client, superuser, campaign, topics
):
    by_topic = client.get(url("campaign-preview", campaign), {"topics": [topics["events"].pk]})
    assert "Charity walk" in by_topic.content.decode()
    assert "Clinic opens" not in by_topic.content.decode()
    reader = SubscriberFactory(active=True, first_name="Winifred", topics=[topics["news"]])
    by_reader = client.get(url("campaign-preview", campaign), {"subscriber": reader.email})
    content = by_reader.content.decode()
    assert "Winifred" in content and "Clinic opens" in content and "Charity walk" not in content
    nobody = client.get(url("campaign-preview", campaign), {"subscriber": "nobody@example.org"})
    assert "No subscriber has this address" in nobody.content.decode()


def test_a_test_send_goes_to_the_staff_member_and_the_typed_addresses(
    client, superuser, campaign, django_capture_on_commit_callbacks
):
    for address in ("a@example.org", "b@example.org"):
        ApprovedTestAddress.objects.create(email=address)  # the test list a superuser keeps
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("campaign-test", campaign), {"addresses": "a@example.org, b@example.org"}
        )
    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == [
        "a@example.org",
        "admin@engage.example.org",
        "b@example.org",
    ]
    message = mail.outbox[0]
    assert message.subject == "[Test] November issue"
    assert message.alternatives[0].mimetype == "text/html"
    assert "Clinic opens" in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not campaign.deliveries.exists()
    assert status_of(campaign) == Status.DRAFT


def test_a_test_send_to_more_than_five_addresses_is_refused(client, superuser, campaign):
    typed = "\n".join(f"p{i}@example.org" for i in range(6))
    response = client.post(url("campaign-test", campaign), {"addresses": typed})
    assert response.status_code == 200
    assert "At most 5 addresses." in response.content.decode()
    assert mail.outbox == []


def test_a_test_send_refuses_a_malformed_address(client, superuser, campaign):
    response = client.post(url("campaign-test", campaign), {"addresses": "not-an-address"})
    assert "is not an email address" in response.content.decode()
    assert mail.outbox == []


def test_scheduling_shows_the_audience_count_then_schedules(client, superuser, campaign, topics):
    SubscriberFactory.create_batch(3, active=True, topics=[topics["news"]])
    SubscriberFactory(topics=[topics["news"]])  # pending: not counted
    page = client.get(url("campaign-schedule", campaign))
    assert "This goes to 3 people." in page.content.decode()
    response = client.post(
        url("campaign-schedule", campaign),
        {"at": "2026-12-01T09:30", "timezone": "Europe/Paris", "confirmed": "1"},
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Status.SCHEDULED
    assert campaign.scheduled_at == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


def test_a_campaign_without_posts_cannot_be_scheduled_from_admin(client, superuser, topics):
    empty = CampaignFactory(topics=[topics["news"]])
    response = client.post(
        url("campaign-schedule", empty), {"at": "2026-12-01T09:30", "timezone": "Europe/London"}
    )
    assert "it has no posts" in response.content.decode()
    assert status_of(empty) == Status.DRAFT


def test_pause_resume_and_cancel_through_the_admin(client, superuser, campaign):
    transition(campaign, Status.SCHEDULED)
    transition(campaign, Status.SENDING)
    assert action(client, campaign, "pause").status_code == 302
    assert status_of(campaign) == Status.PAUSED
    action(client, campaign, "resume")
    assert status_of(campaign) == Status.SENDING
    action(client, campaign, "cancel")
    assert status_of(campaign) == Status.CANCELLED
    response = client.post(url("campaign-action", campaign, "resume"), follow=True)
    assert "A cancelled campaign cannot become sending." in response.content.decode()
    assert status_of(campaign) == Status.CANCELLED


def test_resuming_in_the_admin_sends_what_the_pause_left_waiting(
    client, superuser, campaign, topics, django_capture_on_commit_callbacks
):
    from newsletter import delivery
    from newsletter.models import Delivery

    SubscriberFactory.create_batch(3, topics=[topics["news"]], active=True)
    transition(campaign, Status.SCHEDULED)
    transition(campaign, Status.SENDING)
    with django_capture_on_commit_callbacks(execute=False):
        delivery.prepare(campaign.pk)  # the ledger is written; its batches never ran
    action(client, campaign, "pause")

    with django_capture_on_commit_callbacks(execute=True):
        action(client, campaign, "resume")

    assert status_of(campaign) == Status.SENDING
    assert len(mail.outbox) == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}


def test_a_scheduled_campaign_can_go_back_to_draft(client, superuser, campaign):
    transition(campaign, Status.SCHEDULED)
    action(client, campaign, "unschedule")
    assert status_of(campaign) == Status.DRAFT


def test_actions_change_nothing_on_a_get(client, superuser, campaign):
    transition(campaign, Status.SCHEDULED)
    assert client.get(url("campaign-action", campaign, "cancel")).status_code == 405
    assert status_of(campaign) == Status.SCHEDULED


def test_duplicate_makes_a_new_draft_and_opens_it(client, superuser, campaign):
    transition(campaign, Status.CANCELLED)
    response = action(client, campaign, "duplicate")
    copy = Campaign.objects.exclude(pk=campaign.pk).get()
    assert response["Location"] == reverse("admin:newsletter_campaign_change", args=[copy.pk])
    assert copy.status == Status.DRAFT and copy.items.count() == 2


def test_the_list_actions_pause_and_duplicate_in_bulk(client, superuser, campaign, topics):
    transition(campaign, Status.SCHEDULED)
    transition(campaign, Status.SENDING)
    draft = CampaignFactory(topics=[topics["news"]])
    changelist = reverse("admin:newsletter_campaign_changelist")
    response = client.post(
        changelist,
        {"action": "pause_selected", "_selected_action": [campaign.pk, draft.pk]},
        follow=True,
    )
    assert status_of(campaign) == Status.PAUSED and status_of(draft) == Status.DRAFT
    assert "1 campaign(s) paused." in response.content.decode()
    client.post(changelist, {"action": "duplicate_selected", "_selected_action": [draft.pk]})
    assert Campaign.objects.count() == 3


def test_a_sent_campaign_is_read_only(client, superuser, campaign):
    for status in (Status.SCHEDULED, Status.SENDING, Status.SENT):
        transition(campaign, status)
    change = reverse("admin:newsletter_campaign_change", args=[campaign.pk])
    page = client.get(change).content.decode()
    assert 'name="_save"' not in page
    response = client.post(change, {"subject": "Rewritten", "slug": campaign.slug})
    assert response.status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).subject == "November issue"
    delete = reverse("admin:newsletter_campaign_delete", args=[campaign.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_an_editor_without_the_send_permission_cannot_schedule_or_resume(client, campaign):
    editor = User.objects.create_user("writer", "writer@example.org", "pw", is_staff=True)
    editor.groups.add(Group.objects.get(name="editor"))
    client.force_login(editor)
    assert client.get(url("campaign-preview", campaign)).status_code == 200
    assert client.get(url("campaign-schedule", campaign)).status_code == 403
    assert status_of(campaign) == Status.DRAFT

    transition(campaign, Status.SCHEDULED)
    transition(campaign, Status.SENDING)
    transition(campaign, Status.PAUSED)
    assert action(client, campaign, "resume").status_code == 403
    assert status_of(campaign) == Status.PAUSED


def test_a_sender_may_schedule_a_campaign(client, campaign):
    sender = User.objects.create_user("sender", "sender@example.org", "pw", is_staff=True)
    sender.groups.add(Group.objects.get(name="sender"))
    client.force_login(sender)
    response = client.post(
        url("campaign-schedule", campaign),
        {"at": "2026-12-01T09:30", "timezone": "Europe/London", "confirmed": "1"},
    )
    assert response.status_code == 302
    assert status_of(campaign) == Status.SCHEDULED


def test_a_non_staff_user_is_refused_everywhere(client, campaign, topics):
    user = User.objects.create_user("visitor", "visitor@example.org", "pw")
    client.force_login(user)
    transition(campaign, Status.SCHEDULED)
    schedule = DigestSchedule.objects.create(name="Weekly", time_of_day="09:00", subject="s")
    post = campaign.items.first().post
    pages = [
        reverse("admin:newsletter_campaign_changelist"),
        reverse("admin:newsletter_campaign_add"),
        reverse("admin:campaign-digest"),
        reverse("admin:newsletter_campaign_change", args=[campaign.pk]),
        url("campaign-preview", campaign),
        url("campaign-test", campaign),
        url("campaign-schedule", campaign),
        reverse("admin:newsletter_post_changelist"),
        reverse("admin:newsletter_post_change", args=[post.pk]),
        reverse("admin:newsletter_digestschedule_change", args=[schedule.pk]),
    ]
    for page in pages:
        for method in (client.get, client.post):
            response = method(page)
            assert response.status_code == 302, page
            assert response["Location"].startswith(reverse("admin:login")), page
    for name in ("pause", "cancel", "duplicate", "unschedule"):
        assert action(client, campaign, name).status_code == 302
    assert status_of(campaign) == Status.SCHEDULED
    assert Campaign.objects.count() == 1
    assert mail.outbox == []


def test_staff_write_a_post_with_ordered_references(client, superuser, topics):
    response = client.post(
        reverse("admin:newsletter_post_add"),
        {
            "kind": Post.Kind.EDUCATION,
            "title": "Muscle twitching",
            "slug": "muscle-twitching",
            "topic": topics["education"].pk,
            "status": Post.Status.PUBLISHED,
            "summary": "What twitching usually means.",
            "body": "Most twitching is **benign**.",
            "timezone": "Europe/London",
            "references-TOTAL_FORMS": "2",
            "references-INITIAL_FORMS": "0",
            "engagement-TOTAL_FORMS": "0",
            "engagement-INITIAL_FORMS": "0",
            "references-0-position": "2",
            "references-0-title": "Second source",
            "references-1-position": "1",
            "references-1-title": "First source",
            "references-1-year": "2020",
        },
    )
    assert response.status_code == 302, response.context["errors"]
    post = Post.objects.get(slug="muscle-twitching")
    assert post.published_at is not None
    assert [ref.title for ref in post.references.all()] == ["First source", "Second source"]


def test_an_event_post_needs_a_start_and_a_real_time_zone(client, superuser, topics):
    response = client.post(
        reverse("admin:newsletter_post_add"),
        {
            "kind": Post.Kind.EVENT,
            "title": "Walk",
            "slug": "walk",
            "topic": topics["events"].pk,
            "status": Post.Status.DRAFT,
            "timezone": "Mars/Olympus",
            "references-TOTAL_FORMS": "0",
            "references-INITIAL_FORMS": "0",
            "engagement-TOTAL_FORMS": "0",
            "engagement-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "starts_at" in errors and "timezone" in errors
    assert not Post.objects.filter(slug="walk").exists()


def test_saving_a_digest_schedule_in_admin_recomputes_its_next_run(client, superuser, topics):
    response = client.post(
        reverse("admin:newsletter_digestschedule_add"),
        {
            "name": "Monday digest",
            "topics": [topics["news"].pk, topics["events"].pk],
            "weekday": "1",
            "time_of_day": "09:00",
            "timezone": "Europe/London",
            "subject": "This week, {date}",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    schedule = DigestSchedule.objects.get(name="Monday digest")
    assert schedule.next_run_at is not None
    local = schedule.next_run_at.astimezone(ZoneInfo("Europe/London"))
    assert (local.isoweekday(), local.hour, local.minute) == (1, 9, 0)
    listing = client.get(reverse("admin:newsletter_digestschedule_changelist")).content.decode()
    assert f"{local:%a %d %b %Y}, 09:00 Europe/London" in listing


def test_compose_now_makes_a_draft_digest_to_review(client, superuser, topics):
    post = PostFactory(topic=topics["news"])
    schedule = DigestSchedule.objects.create(name="Daily", time_of_day="09:00", subject="Daily")
    schedule.topics.set([topics["news"]])
    response = client.post(
        reverse("admin:newsletter_digestschedule_changelist"),
        {"action": "compose_now", "_selected_action": [schedule.pk]},
        follow=True,
    )
    campaign = Campaign.objects.get()
    assert "composed with 1 posts" in response.content.decode()
    assert campaign.status == Status.DRAFT and campaign.digest_schedule == schedule
    assert [item.post for item in campaign.items.all()] == [post]


def test_staff_compose_a_digest_for_chosen_topics_and_window(client, superuser, topics):
    inside = PostFactory(topic=topics["news"], published_at=datetime(2026, 11, 10, tzinfo=UTC))
    PostFactory(topic=topics["news"], published_at=datetime(2026, 10, 1, tzinfo=UTC))
    PostFactory(topic=topics["education"], published_at=datetime(2026, 11, 10, tzinfo=UTC))
    changelist = client.get(reverse("admin:newsletter_campaign_changelist")).content.decode()
    assert reverse("admin:campaign-digest") in changelist
    response = client.post(
        reverse("admin:campaign-digest"),
        {
            "topics": [topics["news"].pk],
            "since": "2026-11-01T00:00",
            "until": "2026-11-20T00:00",
            "subject": "November digest",
            "intro": "",
        },
    )
    campaign = Campaign.objects.get()
    assert response["Location"] == reverse("admin:newsletter_campaign_change", args=[campaign.pk])
    assert [item.post for item in campaign.items.all()] == [inside]
    assert campaign.created_by == superuser and campaign.status == Status.DRAFT


def test_a_digest_window_with_nothing_in_it_composes_nothing(client, superuser, topics):
    response = client.post(
        reverse("admin:campaign-digest"),
        {"topics": [topics["news"].pk], "since": "2020-01-01T00:00", "until": "2020-02-01T00:00",
         "subject": "Empty"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Nothing was published for these topics in this window." in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_test_send_can_show_only_chosen_sections(
    client, superuser, campaign, topics, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("campaign-test", campaign), {"topics": [topics["events"].pk]})
    (message,) = mail.outbox
    assert message.to == [superuser.email]
    assert "Charity walk" in message.body and "Clinic opens" not in message.body


def test_a_test_send_of_sections_with_no_posts_says_there_is_nothing_to_send(
    client, superuser, topics, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(
        subject="News only",
        topics=[topics["news"], topics["events"]],
        posts=[PostFactory(topic=topics["news"], title="Clinic opens")],
    )
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post(url("campaign-test", campaign), {"topics": [topics["events"].pk]})
    assert response.status_code == 200
    content = response.content.decode()
    assert "There is nothing to send" in content
    assert "Test sent" not in content
    assert queued == [] and mail.outbox == []


def test_a_test_send_of_a_campaign_without_posts_says_there_is_nothing_to_send(
    client, superuser, topics, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(subject="Empty", topics=[topics["news"]], posts=[])
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post(url("campaign-test", campaign), {})
    assert response.status_code == 200
    assert "the campaign has no posts for its topics yet" in response.content.decode()
    assert queued == [] and mail.outbox == []
