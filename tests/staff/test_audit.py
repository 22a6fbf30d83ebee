"""The audit trail: who did what, when, from which address; read-only, even to a superuser."""

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group, User
from django.urls import reverse

from newsletter.models import AuditEvent, Campaign, Subscriber
from newsletter.staff import audit
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/newsletter/subscriber/"


@pytest.fixture
def boss(client):
    user = User.objects.create_superuser("boss", "boss@engage.example.org")
    client.force_login(user)
    return user


@pytest.fixture
def campaign(topics):
    post = PostFactory(topic=topics["news"])
    return CampaignFactory(subject="Winter news", topics=[topics["news"]], posts=[post])


def entry(action: str) -> AuditEvent:
    return AuditEvent.objects.get(action=action)


def test_record_keeps_who_what_and_from_where(rf, boss):
    request = rf.get("/", REMOTE_ADDR="203.0.113.9")
    audit.record(boss, "export", "3 subscribers", request=request, columns=4)
    row = entry("export")
    assert (row.actor, row.actor_name, row.target, row.ip) == (
        boss,
        "boss",
        "3 subscribers",
        "203.0.113.9",
    )
    assert row.details == {"columns": 4} and row.at is not None


def test_an_export_is_recorded(client, subscriber_manager, topics):
    people = [SubscriberFactory(active=True), SubscriberFactory(active=True)]
    response = client.post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [p.pk for p in people]}
    )
    assert response["Content-Type"].startswith("text/csv")
    row = entry("export")
    assert (row.actor, row.target, row.ip) == (subscriber_manager, "2 subscribers", "127.0.0.1")


def test_an_erasure_is_recorded_without_the_address(client, subscriber_manager, topics):
    person = SubscriberFactory(email="gone@example.org", active=True)
    delete = reverse("admin:newsletter_subscriber_delete", args=[person.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not Subscriber.objects.filter(pk=person.pk).exists()
    row = entry("erase")
    assert (row.actor, row.target) == (subscriber_manager, f"subscriber #{person.pk}")
    trail = [str(v) for v in LogEntry.objects.values_list("object_repr", "changes")]
    trail += [str(v) for v in AuditEvent.objects.values_list("target", "details")]
    assert not any("gone@example.org" in text for text in trail)


def test_a_test_send_and_a_schedule_are_recorded(
    client, boss, campaign, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:campaign-test", args=[campaign.pk]), {"addresses": ""})
    row = entry("test send")
    assert (row.actor, row.target, row.details) == (
        boss,
        f"campaign #{campaign.pk}",
        {"recipients": 1},
    )
    client.post(
        reverse("admin:campaign-schedule", args=[campaign.pk]),
        {"at": "2030-01-01T09:00", "timezone": "Europe/London", "confirmed": "1"},
    )
    assert entry("schedule").details == {"at": "2030-01-01T09:00:00+00:00"}


def test_a_campaign_action_is_recorded(client, boss, campaign):
    client.post(
        reverse("admin:campaign-schedule", args=[campaign.pk]),
        {"at": "2030-01-01T09:00", "timezone": "Europe/London", "confirmed": "1"},
    )
    client.post(reverse("admin:campaign-action", args=[campaign.pk, "unschedule"]))
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT
    assert entry("unschedule").target == f"campaign #{campaign.pk}"


def test_staff_sign_ins_and_refusals_are_recorded(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    User.objects.create_user("sam", "sam@engage.example.org", "a-long-pass", is_staff=True)
    client.post(
        "/admin/login/", {"username": "sam", "password": "wrong"}, REMOTE_ADDR="198.51.100.7"
    )
    refused = entry("sign-in refused")
    assert (refused.actor, refused.target, refused.ip) == (None, "sam", "198.51.100.7")
    client.post("/admin/login/", {"username": "sam", "password": "a-long-pass"})
    signed_in = entry("sign-in")
    assert signed_in.actor_name == "sam" and signed_in.ip == "127.0.0.1"


def test_model_changes_in_admin_name_the_actor_and_address(client, boss, campaign):
    change = reverse("admin:newsletter_campaign_change", args=[campaign.pk])
    page = client.get(change)
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in ("subject", "slug", "preheader", "intro")}
    data["topics"] = [t.pk for t in campaign.topics.all()]
    data.update({"items-TOTAL_FORMS": 0, "items-INITIAL_FORMS": 0})
    data.update({"variants-TOTAL_FORMS": 0, "variants-INITIAL_FORMS": 0})
    response = client.post(change, {**data, "subject": "Winter news, revised"})
    assert response.status_code == 302, response.content.decode()[:2000]
    updates = LogEntry.objects.get_for_object(campaign).filter(action=LogEntry.Action.UPDATE)
    (log,) = [log for log in updates if "subject" in log.changes_dict]
    assert log.actor == boss and log.remote_addr == "127.0.0.1"
    assert log.changes_dict["subject"] == ["Winter news", "Winter news, revised"]


def test_a_subscriber_change_names_them_by_number_only(client, boss, topics):
    person = SubscriberFactory(email="kim@example.org", active=True)
    Subscriber.objects.get(pk=person.pk).topics.add(topics["news"])
    logs = LogEntry.objects.filter(object_pk=str(person.pk), content_type__model="subscriber")
    assert logs.exists()
    for log in logs:
        assert log.object_repr == f"subscriber #{person.pk}"
        assert "kim@example.org" not in str(log.changes) + str(log.serialized_data)


def test_the_trail_is_read_only_even_for_a_superuser(client, boss, campaign):
    audit.record(boss, "export", "1 subscribers")
    event = entry("export")
    log = LogEntry.objects.first()
    for model, row in (("newsletter_auditevent", event), ("auditlog_logentry", log)):
        assert client.get(reverse(f"admin:{model}_changelist")).status_code == 200
        assert (
            client.post(
                reverse(f"admin:{model}_delete", args=[row.pk]), {"post": "yes"}
            ).status_code
            == 403
        )
        assert client.post(reverse(f"admin:{model}_change", args=[row.pk]), {}).status_code == 403
        assert client.get(reverse(f"admin:{model}_add")).status_code == 403
    assert (
        AuditEvent.objects.filter(pk=event.pk).exists()
        and LogEntry.objects.filter(pk=log.pk).exists()
    )


def test_deleting_an_account_keeps_what_it_did(client, boss):
    mo = User.objects.create_user("mo", "mo@engage.example.org", is_staff=True)
    audit.record(mo, "export", "5 subscribers")
    client.post(reverse("admin:auth_user_delete", args=[mo.pk]), {"post": "yes"})
    assert not User.objects.filter(pk=mo.pk).exists()
    row = entry("export")
    assert row.actor is None and row.actor_name == "mo"


def test_staff_who_are_not_superusers_cannot_read_the_trail(client, subscriber_manager):
    assert client.get(reverse("admin:newsletter_auditevent_changelist")).status_code == 403
    assert client.get(reverse("admin:auditlog_logentry_changelist")).status_code == 403


def test_changes_to_every_audited_model_are_logged(topics):
    from django.contrib.contenttypes.models import ContentType

    from newsletter.models import DigestSchedule, Post, Suppression, Topic
    from tests.factories import DigestScheduleFactory

    rows = [
        CampaignFactory(),
        PostFactory(topic=topics["news"]),
        DigestScheduleFactory(),
        Topic.objects.create(slug="als", name="ALS"),
        Suppression.objects.create(email_hash="1" * 64, reason="erased"),
        SubscriberFactory(),
        User.objects.create_user("newbie"),
        Group.objects.create(name="helpers"),
    ]
    assert [type(row) for row in rows[:5]] == [Campaign, Post, DigestSchedule, Topic, Suppression]
    for row in rows:
        kind = ContentType.objects.get_for_model(row)
        logged = LogEntry.objects.filter(content_type=kind, object_pk=str(row.pk))
        assert logged.filter(action=LogEntry.Action.CREATE).exists(), type(row)


def test_a_retry_is_recorded(client, boss, topics, django_capture_on_commit_callbacks):
    from newsletter.campaigns.states import transition
    from newsletter.models import Delivery

    campaign = CampaignFactory(topics=[topics["news"]], posts=[PostFactory(topic=topics["news"])])
    transition(campaign, Campaign.Status.SCHEDULED)
    transition(campaign, Campaign.Status.SENDING)
    reader = SubscriberFactory(active=True, topics=[topics["news"]])
    failed = Delivery.objects.create(
        campaign=campaign, subscriber=reader, status=Delivery.Status.FAILED, attempts=1
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/newsletter/delivery/", {"action": "retry", "_selected_action": [failed.pk]}
        )
    assert (entry("retry").actor, entry("retry").target) == (boss, "1 deliveries")
