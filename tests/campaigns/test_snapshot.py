"""Freeze at approval: what a sender scheduled is what goes out, whoever edits what afterwards."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from newsletter import delivery
from newsletter.campaigns import scheduling, states
from newsletter.campaigns.snapshot import render_body
from newsletter.models import Campaign, CampaignPost, Post, Snapshot
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

pytestmark = pytest.mark.django_db
Status = Campaign.Status


def user_in(group: str) -> User:
    user = User.objects.create_user(group, f"{group}@engage.example.org", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def clinic(topics):
    return PostFactory(topic=topics["news"], title="Clinic opens", summary="Open on Mondays.")


@pytest.fixture
def scheduled(topics, clinic):
    campaign = CampaignFactory(
        subject="November issue",
        slug="november",
        preheader="What happened",
        intro="Thank you.",
        topics=[topics["news"]],
        posts=[clinic],
    )
    scheduling.campaign_schedule(campaign=campaign, at=timezone.now() + timedelta(hours=1))
    return campaign


def url(name, campaign, *args):
    return reverse(f"admin:{name}", args=[campaign.pk, *args])


def what_goes_out(campaign) -> str:
    body = render_body(Campaign.objects.get(pk=campaign.pk), frozenset({"news"}))
    return body.subject + body.html + body.text


def test_scheduling_freezes_the_content_as_approved(scheduled, clinic, topics):
    snapshot = Snapshot.objects.get(campaign=scheduled)
    assert (snapshot.subject, snapshot.preheader, snapshot.intro) == (
        "November issue",
        "What happened",
        "Thank you.",
    )
    assert snapshot.topic_ids == [topics["news"].pk] and snapshot.post_ids == [clinic.pk]
    [section] = snapshot.sections
    assert section["heading"] == "News" and "Clinic opens" in section["posts"][0]["html"]


def test_an_editor_cannot_change_a_scheduled_campaign_by_any_route(
    client, scheduled, clinic, topics, django_capture_on_commit_callbacks
):
    before = what_goes_out(scheduled)
    client.force_login(user_in("editor"))
    change = reverse("admin:newsletter_campaign_change", args=[scheduled.pk])
    draft_post = PostFactory(topic=topics["events"], status=Post.Status.DRAFT, title="Secret")

    # The change form and its inline of posts are read-only, and a forged POST is refused.
    page = client.get(change).content.decode()
    assert 'name="_save"' not in page
    assert 'name="subject"' not in page and 'name="items-0-post"' not in page
    forged = {
        "subject": "Rewritten",
        "slug": "november",
        "topics": [t.pk for t in topics.values()],
        "items-TOTAL_FORMS": "2",
        "items-INITIAL_FORMS": "1",
        "items-0-id": scheduled.items.get().pk,
        "items-0-campaign": scheduled.pk,
        "items-0-post": clinic.pk,
        "items-0-position": "0",
        "items-1-campaign": scheduled.pk,
        "items-1-post": draft_post.pk,
        "items-1-position": "1",
    }
    assert client.post(change, forged).status_code == 403

    # The campaign's actions, one by one and from the list, and deleting it.
    for name in ("cancel", "unschedule", "resume"):
        assert client.post(url("campaign-action", scheduled, name)).status_code == 403
    client.post(url("campaign-action", scheduled, "pause"))  # not a move a scheduled one makes
    changelist = reverse("admin:newsletter_campaign_changelist")
    for bulk in ("cancel_selected", "delete_selected"):
        client.post(changelist, {"action": bulk, "_selected_action": [scheduled.pk], "post": "yes"})
    assert client.post(url("campaign-schedule", scheduled), {}).status_code == 403
    delete = reverse("admin:newsletter_campaign_delete", args=[scheduled.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403

    # A test send of what was approved is a sender's check.
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url("campaign-test", scheduled), {"addresses": ""}).status_code == 403
    assert mail.outbox == []

    # Editing a post the campaign holds changes the post, not what goes out.
    post_change = reverse("admin:newsletter_post_change", args=[clinic.pk])
    form = client.get(post_change).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        title="Clinic closes",
        summary="Closed for good.",
        topic=topics["news"].pk,
        timezone="Europe/London",
        published_at=timezone.localtime(clinic.published_at).strftime("%Y-%m-%d %H:%M:%S"),
        **{
            "references-TOTAL_FORMS": "0",
            "references-INITIAL_FORMS": "0",
            "engagement-TOTAL_FORMS": "0",
            "engagement-INITIAL_FORMS": "0",
        },
    )
    assert client.post(post_change, data).status_code == 302
    assert Post.objects.get(pk=clinic.pk).title == "Clinic closes"

    campaign = Campaign.objects.get(pk=scheduled.pk)
    assert campaign.status == Status.SCHEDULED and campaign.subject == "November issue"
    assert list(campaign.items.values_list("post_id", flat=True)) == [clinic.pk]
    assert list(campaign.topics.all()) == [topics["news"]]
    assert what_goes_out(campaign) == before
    assert "Clinic opens" in before and "Clinic closes" not in before


def test_a_sender_reopens_a_scheduled_campaign_as_a_draft_and_must_schedule_it_again(
    client, scheduled, clinic
):
    client.force_login(user_in("sender"))
    change = reverse("admin:newsletter_campaign_change", args=[scheduled.pk])
    assert client.post(change, {"subject": "Rewritten", "slug": "november"}).status_code == 403
    assert client.post(url("campaign-action", scheduled, "unschedule")).status_code == 302
    assert Campaign.objects.get(pk=scheduled.pk).status == Status.DRAFT
    assert not Snapshot.objects.filter(campaign=scheduled).exists()

    Post.objects.filter(pk=clinic.pk).update(title="Clinic moves")
    scheduling.campaign_schedule(campaign=Campaign.objects.get(pk=scheduled.pk))
    assert "Clinic moves" in what_goes_out(scheduled)
    assert client.post(url("campaign-action", scheduled, "cancel")).status_code == 302
    assert Campaign.objects.get(pk=scheduled.pk).status == Status.CANCELLED


def test_the_start_sends_back_to_draft_a_campaign_whose_post_was_unpublished(
    client, scheduled, clinic
):
    Post.objects.filter(pk=clinic.pk).update(status=Post.Status.DRAFT)
    assert not states.campaign_check_start(campaign=scheduled)
    campaign = Campaign.objects.get(pk=scheduled.pk)
    assert campaign.status == Status.DRAFT
    assert "some of its posts are not published" in campaign.status_reason
    # Staff see why on the campaign's page.
    client.force_login(user_in("sender"))
    page = client.get(reverse("admin:newsletter_campaign_change", args=[campaign.pk]))
    assert "some of its posts are not published" in page.content.decode()


def due(campaign) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(scheduled_at=timezone.now() - timedelta(1))


def test_an_unpublished_post_added_after_scheduling_never_goes_out(
    scheduled, topics, django_capture_on_commit_callbacks
):
    SubscriberFactory(active=True, topics=[topics["news"]])
    secret = PostFactory(topic=topics["news"], status=Post.Status.DRAFT, title="Not yet public")
    # Past the admin (which refuses it): a shell, a script, a race.
    CampaignPost.objects.create(campaign=scheduled, post=secret, position=9)
    assert "Not yet public" not in what_goes_out(scheduled)
    due(scheduled)
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.start_due_campaigns() == 0
    campaign = Campaign.objects.get(pk=scheduled.pk)
    assert campaign.status == Status.DRAFT
    assert "its posts changed after it was approved" in campaign.status_reason
    assert mail.outbox == [] and not campaign.deliveries.exists()


def test_what_goes_out_is_what_was_approved(
    scheduled, clinic, topics, django_capture_on_commit_callbacks
):
    reader = SubscriberFactory(active=True, topics=[topics["news"], topics["events"]])
    Post.objects.filter(pk=clinic.pk).update(title="Clinic closes", summary="Rewritten.")
    topics["events"].campaigns.add(scheduled)  # behind the admin's back: the start refuses it
    due(scheduled)
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.start_due_campaigns() == 0
    assert "its audience changed" in Campaign.objects.get(pk=scheduled.pk).status_reason

    scheduled.refresh_from_db()
    scheduling.campaign_schedule(campaign=scheduled)  # approved again, as it now stands
    Post.objects.filter(pk=clinic.pk).update(title="Clinic reopens", summary="Edited again.")
    due(scheduled)
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.start_due_campaigns() == 1
    [message] = mail.outbox
    assert reader.email in message.to[0]
    assert "Clinic closes" in message.body and "Clinic reopens" not in message.body


def test_a_campaign_changed_behind_the_admins_back_does_not_start(scheduled, topics):
    Campaign.objects.filter(pk=scheduled.pk).update(subject="Rewritten")
    scheduled.topics.add(topics["events"])
    assert not states.campaign_check_start(campaign=scheduled)
    reason = Campaign.objects.get(pk=scheduled.pk).status_reason
    assert "its text changed" in reason and "its audience changed" in reason


def test_an_unchanged_campaign_passes_the_start_check(scheduled):
    assert states.campaign_check_start(campaign=scheduled)
    assert Campaign.objects.get(pk=scheduled.pk).status == Status.SCHEDULED


def test_a_preview_and_a_test_send_of_a_scheduled_campaign_show_what_was_approved(
    client, scheduled, clinic, django_capture_on_commit_callbacks
):
    Post.objects.filter(pk=clinic.pk).update(title="Clinic closes")
    client.force_login(user_in("sender"))
    preview = client.get(url("campaign-preview", scheduled)).content.decode()
    assert "Clinic opens" in preview and "Clinic closes" not in preview
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("campaign-test", scheduled), {"addresses": ""})
    [message] = mail.outbox
    assert "Clinic opens" in message.body and "Clinic closes" not in message.body


def test_a_draft_previews_its_live_content(client, topics, clinic):
    draft = CampaignFactory(topics=[topics["news"]], posts=[clinic])
    Post.objects.filter(pk=clinic.pk).update(title="Clinic closes")
    client.force_login(user_in("editor"))
    assert "Clinic closes" in client.get(url("campaign-preview", draft)).content.decode()
    assert not Snapshot.objects.exists()


def test_a_reader_of_other_topics_only_is_sent_nothing(scheduled):
    SubscriberFactory(active=True)
    assert render_body(scheduled, frozenset({"events"})) is None


def test_an_editor_cannot_test_send_even_a_draft(
    client, topics, clinic, django_capture_on_commit_callbacks
):
    # Issue 13: an editor sends nothing, by any route; a test send is a sender's.
    draft = CampaignFactory(topics=[topics["news"]], posts=[clinic])
    client.force_login(user_in("editor"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("campaign-test", draft), {"addresses": ""})
    assert response.status_code == 403
    assert mail.outbox == []
