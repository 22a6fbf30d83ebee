"""Least privilege, checked route by route.

Every admin route that exists (each registered model's changelist, add, view, change, delete and
history pages, each of its actions, each custom URL of its get_urls) is tried as each role: an
editor, a sender, a subscriber manager, a staff member in no group, and a superuser. Each route
must be declared in the tables below; a route nobody declared fails the walk. A refused attempt
answers 403 (or the login page) and changes nothing: no row, no email, no audit entry.
"""

import re

import pytest
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from newsletter.campaigns.states import transition
from newsletter.models import (
    ApiKey,
    ApprovedTestAddress,
    AuditEvent,
    Brand,
    Campaign,
    CampaignVariant,
    Delivery,
    DigestSchedule,
    EventAttendance,
    Image,
    InvolvementInterest,
    Post,
    SendingProfile,
    Series,
    Subscriber,
    Suppression,
    Topic,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.factories import (
    CampaignFactory,
    SubscriberFactory,
    picture,
)
from tests.staff.roles_world import EDITOR, MANAGER, ROLES, SENDER, SUPERUSER

pytestmark = pytest.mark.django_db
Status = Campaign.Status

WRITERS = {EDITOR, SENDER, SUPERUSER}
SENDERS = {SENDER, SUPERUSER}
LIST_KEEPERS = {MANAGER, SUPERUSER}
ONLY_SUPERUSER = {SUPERUSER}
NOBODY = set()


def _model(view, add, change, delete):
    return {"view": view, "add": add, "change": change, "delete": delete}


RECORDS = _model(view=ONLY_SUPERUSER, add=NOBODY, change=NOBODY, delete=NOBODY)
ACCOUNTS = _model(ONLY_SUPERUSER, ONLY_SUPERUSER, ONLY_SUPERUSER, ONLY_SUPERUSER)

# Who may do what with each model's standard pages.
MODELS = {
    "newsletter.post": _model(WRITERS, WRITERS, WRITERS, WRITERS),
    # Uploaded images: their alt text may change; the file stays (sent emails show it).
    "newsletter.image": _model(WRITERS, WRITERS, WRITERS, ONLY_SUPERUSER),
    "newsletter.campaign": _model(WRITERS, WRITERS, WRITERS, ONLY_SUPERUSER),
    "newsletter.digestschedule": _model(WRITERS, SENDERS, SENDERS, SENDERS),
    "newsletter.delivery": _model(SENDERS, NOBODY, SENDERS, NOBODY),
    "newsletter.subscriber": _model(LIST_KEEPERS, LIST_KEEPERS, LIST_KEEPERS, LIST_KEEPERS),
    "newsletter.topic": _model(
        {EDITOR, SENDER, MANAGER, SUPERUSER}, LIST_KEEPERS, LIST_KEEPERS, ONLY_SUPERUSER
    ),
    "newsletter.suppression": _model(LIST_KEEPERS, NOBODY, NOBODY, NOBODY),
    "newsletter.inboundmessage": _model(LIST_KEEPERS, NOBODY, NOBODY, NOBODY),
    # Counts of answers per post (the "change" page shows them; a POST changes nothing).
    "newsletter.eventattendance": _model(WRITERS, NOBODY, WRITERS, NOBODY),
    "newsletter.involvementinterest": _model(WRITERS, NOBODY, WRITERS, NOBODY),
    # The report's "change" page is the report itself: a POST shows it and changes nothing.
    "newsletter.campaignreport": _model(WRITERS, NOBODY, WRITERS, NOBODY),
    # Editors write series; activating one (an action) is a send.
    "newsletter.series": _model(WRITERS, WRITERS, WRITERS, WRITERS),
    "newsletter.auditevent": RECORDS,
    "auditlog.logentry": RECORDS,
    # The look of every email: part of what a sender approves (one row, never added or deleted).
    "newsletter.brand": _model(SENDERS, NOBODY, SENDERS, NOBODY),
    # The test list: who a test may reach beyond the staff. A superuser's to keep.
    "newsletter.approvedtestaddress": ACCOUNTS,
    # Whether a sending domain is new, and its daily ramp: a superuser's to keep; senders may look
    # (why a campaign goes over days).
    "newsletter.sendingprofile": _model(SENDERS, ONLY_SUPERUSER, ONLY_SUPERUSER, ONLY_SUPERUSER),
    "auth.user": ACCOUNTS,
    "auth.group": ACCOUNTS,
    "otp_totp.totpdevice": ACCOUNTS,
    "otp_static.staticdevice": ACCOUNTS,
    # A key or a webhook endpoint reaches every address its scope allows.
    "newsletter.apikey": ACCOUNTS,
    "newsletter.webhookendpoint": ACCOUNTS,
    "newsletter.webhookdelivery": _model(ONLY_SUPERUSER, NOBODY, ONLY_SUPERUSER, ONLY_SUPERUSER),
}

# Who may run each list action.
ACTIONS = {
    ("newsletter.post", "delete_selected"): WRITERS,
    ("newsletter.image", "delete_selected"): ONLY_SUPERUSER,
    ("newsletter.campaign", "delete_selected"): ONLY_SUPERUSER,
    ("newsletter.campaign", "pause_selected"): SENDERS,
    ("newsletter.campaign", "resume_selected"): SENDERS,
    ("newsletter.campaign", "cancel_selected"): SENDERS,
    ("newsletter.campaign", "duplicate_selected"): WRITERS,
    ("newsletter.digestschedule", "delete_selected"): SENDERS,
    ("newsletter.digestschedule", "compose_now"): SENDERS,
    ("newsletter.delivery", "delete_selected"): NOBODY,
    ("newsletter.delivery", "retry"): SENDERS,
    ("newsletter.subscriber", "delete_selected"): LIST_KEEPERS,
    ("newsletter.subscriber", "export_csv"): LIST_KEEPERS,
    ("newsletter.subscriber", "resend_confirmation"): LIST_KEEPERS,
    ("newsletter.subscriber", "unsubscribe_selected"): LIST_KEEPERS,
    ("newsletter.topic", "delete_selected"): ONLY_SUPERUSER,
    ("newsletter.suppression", "delete_selected"): NOBODY,
    ("newsletter.inboundmessage", "delete_selected"): NOBODY,
    ("newsletter.eventattendance", "delete_selected"): NOBODY,
    ("newsletter.involvementinterest", "delete_selected"): NOBODY,
    ("newsletter.campaignreport", "delete_selected"): NOBODY,
    ("newsletter.series", "delete_selected"): WRITERS,
    ("newsletter.series", "activate_selected"): SENDERS,
    ("newsletter.series", "pause_selected"): SENDERS,
    ("newsletter.series", "to_draft_selected"): SENDERS,
    ("newsletter.auditevent", "delete_selected"): NOBODY,
    ("auditlog.logentry", "delete_selected"): NOBODY,
    ("newsletter.brand", "delete_selected"): NOBODY,
    ("newsletter.approvedtestaddress", "delete_selected"): ONLY_SUPERUSER,
    ("newsletter.sendingprofile", "delete_selected"): ONLY_SUPERUSER,
    ("auth.user", "delete_selected"): ONLY_SUPERUSER,
    ("auth.group", "delete_selected"): ONLY_SUPERUSER,
    ("otp_totp.totpdevice", "delete_selected"): ONLY_SUPERUSER,
    ("otp_static.staticdevice", "delete_selected"): ONLY_SUPERUSER,
    ("newsletter.apikey", "delete_selected"): ONLY_SUPERUSER,
    ("newsletter.apikey", "revoke"): ONLY_SUPERUSER,
    ("newsletter.webhookendpoint", "delete_selected"): ONLY_SUPERUSER,
    ("newsletter.webhookendpoint", "resume"): ONLY_SUPERUSER,
    ("newsletter.webhookdelivery", "delete_selected"): ONLY_SUPERUSER,
    ("newsletter.webhookdelivery", "replay"): ONLY_SUPERUSER,
}

# Who may use each custom admin URL (get_urls); the campaign's do/<action>/ per action.
CUSTOM = {
    ("newsletter.campaign", "campaign-digest"): WRITERS,
    ("newsletter.campaign", "campaign-preview"): WRITERS,
    ("newsletter.campaign", "campaign-test"): SENDERS,
    # The live preview beside the compose forms: for those who may change (or add) the row.
    ("newsletter.campaign", "campaign-live-preview"): WRITERS,
    ("newsletter.campaign", "campaign-live-preview-add"): WRITERS,
    ("newsletter.post", "post-live-preview"): WRITERS,
    ("newsletter.post", "post-live-preview-add"): WRITERS,
    ("newsletter.image", "image-upload"): WRITERS,
    ("newsletter.campaign", "campaign-schedule"): SENDERS,
    # The From domain's SPF, DKIM and DMARC, before a send.
    ("newsletter.campaign", "campaign-sender-authentication"): SENDERS,
    ("newsletter.campaign", "campaign-action"): {
        "pause": SENDERS,
        "resume": SENDERS,
        "cancel": SENDERS,
        "unschedule": SENDERS,
        "duplicate": WRITERS,
    },
    # Choosing an A/B test's winner sends the rest of the audience their email.
    ("newsletter.campaign", "campaign-winner"): SENDERS,
    ("newsletter.delivery", "newsletter_delivery_progress"): WRITERS,
    ("newsletter.delivery", "newsletter_delivery_progress_json"): WRITERS,
    ("newsletter.campaignreport", "newsletter_campaignreport_csv"): WRITERS,
    # Other people's mail, as it arrived.
    ("newsletter.inboundmessage", "newsletter_inboundmessage_raw"): ONLY_SUPERUSER,
    # Names and addresses of the people who answered: posts and subscriber data both.
    ("newsletter.eventattendance", "newsletter_eventattendance_csv"): ONLY_SUPERUSER,
    ("newsletter.eventattendance", "newsletter_eventattendance_checkin"): ONLY_SUPERUSER,
    ("newsletter.involvementinterest", "newsletter_involvementinterest_csv"): ONLY_SUPERUSER,
    # The key of an authenticator is shown once, by `manage.py enrol_2fa`, never again.
    ("otp_totp.totpdevice", "otp_totp_totpdevice_config"): NOBODY,
    ("otp_totp.totpdevice", "otp_totp_totpdevice_qrcode"): NOBODY,
    ("auth.user", "auth_user_password_change"): ONLY_SUPERUSER,
    # Importing adds people to the list: newsletter.add_subscriber.
    ("newsletter.subscriber", "newsletter_subscriber_import"): LIST_KEEPERS,
    ("newsletter.subscriber", "newsletter_subscriber_import_sample"): LIST_KEEPERS,
    ("newsletter.subscriber", "newsletter_subscriber_import_map"): LIST_KEEPERS,
    ("newsletter.subscriber", "newsletter_subscriber_import_job"): LIST_KEEPERS,
    ("newsletter.subscriber", "newsletter_subscriber_import_progress"): LIST_KEEPERS,
}

STANDARD = ["changelist", "add", "view", "change", "delete", "history"]


def _label(model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def admin_routes() -> list[tuple[str, str]]:
    """Every admin route there is, read from the admin itself."""
    routes = []
    for model, model_admin in admin.site._registry.items():
        label = _label(model)
        routes += [(label, kind) for kind in STANDARD]
        routes += [(label, f"action:{a.name}") for a in model_admin._get_base_actions()]
        info = model._meta.app_label, model._meta.model_name
        standard = {"%s_%s_%s" % (*info, page) for page in STANDARD}  # noqa: UP031
        routes += [
            (label, f"url:{pattern.name}")
            for pattern in model_admin.get_urls()
            if pattern.name and pattern.name not in standard
        ]
    return routes


def expected(label: str, kind: str):
    if kind.startswith("action:"):
        return ACTIONS.get((label, kind.removeprefix("action:")))
    if kind.startswith("url:"):
        return CUSTOM.get((label, kind.removeprefix("url:")))
    model = MODELS.get(label)
    if model is None:
        return None
    page = {"changelist": "view", "history": "view"}.get(kind, kind)
    if page == "view":
        return model["view"] | model["change"]  # Django shows a read-only page to viewers
    return model[page]


# The world each route is tried in (`world`) and a staff member of each role (`people`) are
# fixtures in tests/staff/conftest.py.


def target(world, label: str):
    """The row a route acts on."""
    return {
        "newsletter.post": world["spare post"],
        "newsletter.image": world["image"],
        "newsletter.campaign": world["draft"],
        "newsletter.series": world["series"],
        "newsletter.campaignreport": world["sending"],
        "newsletter.digestschedule": world["schedule"],
        "newsletter.delivery": world["failed"],
        "newsletter.subscriber": world["pending"],
        "newsletter.topic": world["spare topic"],
        "newsletter.suppression": world["suppression"],
        "newsletter.inboundmessage": world["inbound"],
        "newsletter.eventattendance": EventAttendance.objects.get(pk=world["event"].pk),
        "newsletter.involvementinterest": InvolvementInterest.objects.get(
            pk=world["get involved"].pk
        ),
        "newsletter.auditevent": world["audit event"],
        "auditlog.logentry": LogEntry.objects.order_by("id").first(),
        "newsletter.brand": Brand.objects.get_or_create(pk=1)[0],
        "auth.user": world["victim"],
        "auth.group": world["victims"],
        "otp_totp.totpdevice": TOTPDevice.objects.get(user=world["victim"]),
        "otp_static.staticdevice": StaticDevice.objects.get(user=world["victim"]),
        "newsletter.apikey": world["api key"],
        "newsletter.webhookendpoint": world["endpoint"],
        "newsletter.webhookdelivery": world["webhook delivery"],
        "newsletter.approvedtestaddress": ApprovedTestAddress.objects.get_or_create(
            email="trustee@example.org"
        )[0],
        "newsletter.sendingprofile": SendingProfile.objects.get_or_create(name="Our relay")[0],
    }[label]


# Which rows a list action is tried on.
ACTION_TARGETS = {
    ("newsletter.campaign", "pause_selected"): "sending",
    ("newsletter.campaign", "resume_selected"): "paused",
    ("newsletter.campaign", "cancel_selected"): "scheduled",
    ("newsletter.subscriber", "unsubscribe_selected"): "active",
    ("newsletter.series", "pause_selected"): "active series",
    ("newsletter.series", "to_draft_selected"): "active series",
}


def state() -> dict:
    """Everything a refused request must leave as it was."""
    return {
        "subscribers": list(Subscriber.objects.order_by("id").values_list("id", "status")),
        "campaigns": list(Campaign.objects.order_by("id").values_list("id", "status")),
        "deliveries": list(Delivery.objects.order_by("id").values_list("id", "status")),
        "posts": list(Post.objects.order_by("id").values_list("id", flat=True)),
        "images": list(Image.objects.order_by("id").values_list("id", "alt")),
        "topics": list(Topic.objects.order_by("id").values_list("id", flat=True)),
        "schedules": list(DigestSchedule.objects.order_by("id").values_list("id", flat=True)),
        "series": list(Series.objects.order_by("id").values_list("id", "status")),
        "suppressions": Suppression.objects.count(),
        "users": list(User.objects.order_by("id").values_list("id", flat=True)),
        "groups": list(Group.objects.order_by("id").values_list("id", flat=True)),
        "devices": (TOTPDevice.objects.count(), StaticDevice.objects.count()),
        "audit": (AuditEvent.objects.count(), LogEntry.objects.count()),
        "brand": list(Brand.objects.values_list("organisation_name", "colour", "donate_url")),
        "test list": list(ApprovedTestAddress.objects.order_by("id").values_list("id", "email")),
        "sending profiles": list(
            SendingProfile.objects.order_by("id").values_list("id", "warming_up_since", "ramp")
        ),
        "mail": len(mail.outbox),
        "api": (
            list(ApiKey.objects.order_by("id").values_list("id", "revoked_at")),
            list(WebhookEndpoint.objects.order_by("id").values_list("id", "paused_at")),
            list(WebhookDelivery.objects.order_by("id").values_list("id", "status")),
        ),
    }


def refused(response) -> bool:
    if response.status_code == 403:
        return True
    return response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


class Attempt:
    """One try of one route by one role: did it go through, and what did it change?"""

    def __init__(self, client, capture):
        self.client, self.capture = client, capture

    def __call__(self, method: str, url: str, data=None):
        before = state()
        with self.capture(execute=True):
            response = getattr(self.client, method)(url, data or {})
        self.response, self.changed = response, state() != before
        return self


def standard_url(label: str, kind: str, obj) -> str:
    app, model = label.split(".")
    page = "change" if kind == "view" else kind
    args = [] if kind in ("changelist", "add") else [obj.pk]
    return reverse(f"admin:{app}_{model}_{page}", args=args)


def try_standard(attempt, label, kind, obj) -> bool:
    url = standard_url(label, kind, obj)
    if kind in ("changelist", "view", "history"):
        response = attempt("get", url).response
        assert response.status_code in (200, 403, 302), (url, response.status_code)
        return response.status_code == 200
    if kind == "delete":
        done = attempt("post", url, {"post": "yes"})
        gone = not type(obj)._default_manager.filter(pk=obj.pk).exists()
        assert gone == (done.response.status_code == 302 and not refused(done.response))
        return gone
    # add / change with an empty form: shown again with errors (or saved, when every field is
    # read-only) if allowed, 403 if not.
    done = attempt("post", url)
    return not refused(done.response)


def try_action(attempt, world, label, name, obj) -> bool:
    row = world[ACTION_TARGETS[(label, name)]] if (label, name) in ACTION_TARGETS else obj
    changelist = standard_url(label, "changelist", obj)
    data = {"action": name, "_selected_action": [row.pk], "post": "yes", "index": 0}
    done = attempt("post", changelist, data)
    exported = done.response.get("Content-Type", "").startswith("text/csv")
    return done.changed or exported


def try_custom(attempt, world, name, action=None) -> bool:
    draft, sending = world["draft"], world["sending"]
    if name == "campaign-digest":
        data = {"topics": [world["draft"].topics.first().pk], "subject": "Digest"}
        return attempt("post", reverse("admin:campaign-digest"), data).changed
    if name == "campaign-preview":
        url = reverse("admin:campaign-preview", args=[draft.pk])
        return attempt("get", url).response.status_code == 200
    if name in ("campaign-live-preview", "campaign-live-preview-add", "post-live-preview-add"):
        url = reverse(f"admin:{name}", args=[draft.pk] if name == "campaign-live-preview" else [])
        return attempt("post", url, {"subject": "Typed"}).response.status_code == 200
    if name == "post-live-preview":
        url = reverse("admin:post-live-preview", args=[world["spare post"].pk])
        return attempt("post", url, {"title": "Typed"}).response.status_code == 200
    if name == "image-upload":
        upload = SimpleUploadedFile("walk.png", picture(), "image/png")
        return attempt(
            "post", reverse("admin:image-upload"), {"file": upload, "alt": "A walk"}
        ).changed
    if name == "campaign-test":
        return attempt("post", reverse("admin:campaign-test", args=[draft.pk])).changed
    if name == "campaign-schedule":
        url = reverse("admin:campaign-schedule", args=[draft.pk])
        data = {"at": "2030-01-01T09:00", "timezone": "Europe/London", "confirmed": "1"}
        return attempt("post", url, data).changed
    if name == "campaign-sender-authentication":
        url = reverse("admin:campaign-sender-authentication")
        return attempt("get", url).response.status_code == 200
    if name == "campaign-winner":
        testing = _subject_test(world["draft"])
        attempt("post", reverse("admin:campaign-winner", args=[testing.pk, "B"]))
        return Campaign.objects.filter(pk=testing.pk, winner="B").exists()
    if name == "campaign-action":
        campaign = world[
            {
                "pause": "sending",
                "resume": "paused",
                "cancel": "scheduled",
                "unschedule": "scheduled",
                "duplicate": "draft",
            }[action]
        ]
        url = reverse("admin:campaign-action", args=[campaign.pk, action])
        return attempt("post", url).changed
    args = {
        "newsletter_delivery_progress": [sending.pk],
        "newsletter_delivery_progress_json": [sending.pk],
        "newsletter_campaignreport_csv": [sending.pk],
        "otp_totp_totpdevice_config": [TOTPDevice.objects.get().pk],
        "otp_totp_totpdevice_qrcode": [TOTPDevice.objects.get().pk],
        "auth_user_password_change": [world["victim"].pk],
        "newsletter_inboundmessage_raw": [world["inbound"].pk],
        "newsletter_eventattendance_csv": [world["event"].pk],
        "newsletter_eventattendance_checkin": [world["event"].pk],
        "newsletter_involvementinterest_csv": [world["get involved"].pk],
        "newsletter_subscriber_import": [],
        "newsletter_subscriber_import_sample": [],
        "newsletter_subscriber_import_map": [world["import"].pk],
        "newsletter_subscriber_import_job": [world["import"].pk],
        "newsletter_subscriber_import_progress": [world["import"].pk],
    }[name]
    return attempt("get", reverse(f"admin:{name}", args=args)).response.status_code == 200


def _subject_test(draft) -> Campaign:
    """A copy of `draft` with an A/B test whose variants went out: waiting for its winner."""
    posts = [item.post for item in draft.items.all()]
    campaign = CampaignFactory(topics=list(draft.topics.all()), posts=posts, test_share=20)
    for letter in "AB":
        CampaignVariant.objects.create(campaign=campaign, letter=letter, subject=f"{letter} news")
    for step in (Status.SCHEDULED, Status.SENDING):
        transition(campaign, step)
    Campaign.objects.filter(pk=campaign.pk).update(
        test_sent_at=timezone.now(), prepared_at=timezone.now()
    )
    return campaign


@pytest.mark.parametrize("route", admin_routes(), ids=lambda route: f"{route[0]} {route[1]}")
def test_each_admin_route_admits_exactly_its_roles(
    route, client, world, people, django_capture_on_commit_callbacks
):
    label, kind = route
    allowed = expected(label, kind)
    assert allowed is not None, f"{label} {kind}: a new admin route; declare who may use it here"
    sub_routes = allowed.items() if isinstance(allowed, dict) else [(None, allowed)]
    for sub, roles in sub_routes:
        for role in ROLES:
            # Each role starts from the same world: what an allowed role did is rolled back.
            savepoint = transaction.savepoint_create()
            client.force_login(people[role])
            mail.outbox.clear()
            attempt = Attempt(client, django_capture_on_commit_callbacks)
            obj = target(world, label)
            if kind.startswith("action:"):
                went_through = try_action(attempt, world, label, kind.removeprefix("action:"), obj)
            elif kind.startswith("url:"):
                went_through = try_custom(attempt, world, kind.removeprefix("url:"), sub)
            else:
                went_through = try_standard(attempt, label, kind, obj)
            what = f"{role} on {label} {kind} {sub or ''}"
            if role not in roles:
                assert not attempt.changed, f"{what}: refused, yet something changed"
            assert went_through == (role in roles), what
            transaction.savepoint_rollback(savepoint)
            client.logout()


# --- Beyond the walk ---------------------------------------------------------------------------


def test_an_editor_cannot_look_up_a_subscriber_in_the_preview(client, world, people):
    client.force_login(people[EDITOR])
    url = reverse("admin:campaign-preview", args=[world["draft"].pk])
    response = client.get(url, {"subscriber": "active@example.org"})
    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="subscriber"' not in content
    assert world["active"].first_name not in content


def test_a_manager_may_preview_as_a_subscriber_only_with_campaign_access(client, world, people):
    client.force_login(people[MANAGER])
    url = reverse("admin:campaign-preview", args=[world["draft"].pk])
    assert client.get(url, {"subscriber": "active@example.org"}).status_code == 403


def test_an_unknown_campaign_action_is_a_404_not_a_500(client, world, people):
    client.force_login(people[SUPERUSER])
    draft = world["draft"]
    assert client.post(f"/admin/newsletter/campaign/{draft.pk}/do/schedule/").status_code == 404
    assert client.get(f"/admin/newsletter/campaign/{draft.pk}/do/schedule/").status_code == 404
    # The address from the report: "1/do" is no campaign id.
    assert client.get("/admin/newsletter/campaign/1/do/schedule/").status_code == 404
    assert client.post("/admin/newsletter/campaign/1/do/pause/").status_code == 404
    assert Campaign.objects.get(pk=draft.pk).status == Status.DRAFT


def test_roles_are_the_groups_staff_are_put_in():
    assert set(Group.objects.values_list("name", flat=True)) >= {EDITOR, SENDER, MANAGER}


def test_an_editor_sees_no_address_on_any_page_they_may_open(client, world, people):
    client.force_login(people[EDITOR])
    pages = [
        reverse("admin:index"),
        reverse("admin:newsletter_campaign_changelist"),
        reverse("admin:newsletter_campaign_change", args=[world["sending"].pk]),
        reverse("admin:newsletter_campaignreport_change", args=[world["sending"].pk]),
        reverse("admin:newsletter_campaignreport_csv", args=[world["sending"].pk]),
        reverse("admin:newsletter_delivery_progress", args=[world["sending"].pk]),
        reverse("admin:campaign-preview", args=[world["draft"].pk]),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert b"active@example.org" not in response.content, page
        assert b"pending@example.org" not in response.content, page


def test_the_walk_covers_every_registered_model():
    labels = {_label(model) for model in admin.site._registry}
    assert labels == set(MODELS)


# --- Test sends ---------------------------------------------------------------------------------


def send_test(client, campaign, addresses: str, capture):
    with capture(execute=True):
        return client.post(
            reverse("admin:campaign-test", args=[campaign.pk]), {"addresses": addresses}
        )


@pytest.mark.parametrize(
    ("who", "says"),
    [
        ({"unsubscribed": True}, "has unsubscribed"),
        ({"status": Subscriber.Status.BOUNCED}, "has bounced"),
        ({"status": Subscriber.Status.COMPLAINED}, "has complained about our mail"),
    ],
)
def test_a_test_send_refuses_an_address_that_asked_not_to_be_mailed(
    client, world, people, who, says, django_capture_on_commit_callbacks
):
    SubscriberFactory(email="no@example.org", **who)
    ApprovedTestAddress.objects.create(email="no@example.org")  # on the list, and still refused
    client.force_login(people[SENDER])
    response = send_test(
        client, world["draft"], "no@example.org", django_capture_on_commit_callbacks
    )
    assert response.status_code == 200
    assert (
        f"“no@example.org” {says}: we do not mail it, not even a test." in response.content.decode()
    )
    assert mail.outbox == []


def test_a_test_send_refuses_an_erased_address(
    client, world, people, django_capture_on_commit_callbacks
):
    from newsletter.subscribers import subscriptions

    gone = SubscriberFactory(email="erased@example.org", active=True)
    subscriptions.erase(subscriber_id=gone.pk)
    ApprovedTestAddress.objects.create(email="erased@example.org")
    client.force_login(people[SENDER])
    response = send_test(
        client, world["draft"], "Erased@Example.org", django_capture_on_commit_callbacks
    )
    assert "is on the suppression list" in response.content.decode()
    assert mail.outbox == []


def test_a_test_send_goes_to_staff_and_the_test_list_only(
    client, world, people, django_capture_on_commit_callbacks
):
    ApprovedTestAddress.objects.create(email="trustee@example.org", name="A trustee")
    client.force_login(people[SENDER])
    response = send_test(
        client, world["draft"], "a@example.org", django_capture_on_commit_callbacks
    )
    assert "“a@example.org” is not on the test list" in response.content.decode()
    assert mail.outbox == []
    staff = "editor@engage.example.org, superuser@engage.example.org"
    send_test(
        client,
        world["draft"],
        f"{staff}, Trustee@Example.org",
        django_capture_on_commit_callbacks,
    )
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [
            "sender@engage.example.org",
            "editor@engage.example.org",
            "superuser@engage.example.org",
            "trustee@example.org",
        ]
    )


def test_test_sends_are_rate_limited_per_sender(
    client, world, people, settings, django_capture_on_commit_callbacks
):
    assert settings.SEND_TEST_RATE == "5/h"  # the default
    settings.SEND_TEST_RATE = "2/h"
    client.force_login(people[SENDER])
    for _ in range(2):
        assert (
            send_test(client, world["draft"], "", django_capture_on_commit_callbacks).status_code
            == 302
        )
    refused = send_test(client, world["draft"], "", django_capture_on_commit_callbacks)
    assert refused.status_code == 429
    assert "You have sent as many tests as allowed for now (2/h)" in refused.content.decode()
    assert len(mail.outbox) == 2
    client.force_login(people[SUPERUSER])  # another sender has a budget of their own
    assert (
        send_test(client, world["draft"], "", django_capture_on_commit_callbacks).status_code == 302
    )


def test_a_test_send_carries_list_unsubscribe_as_a_plain_list_of_uris(
    client, world, people, django_capture_on_commit_callbacks
):
    ApprovedTestAddress.objects.create(email="active@example.org")
    client.force_login(people[SENDER])
    send_test(client, world["draft"], "active@example.org", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        raw = message.message().as_bytes().decode()
        header = re.search(r"^List-Unsubscribe: (.*(?:\r?\n[ \t].*)*)", raw, re.MULTILINE).group(1)
        unfolded = re.sub(r"\r?\n[ \t]", " ", header)
        assert "=?" not in unfolded  # no RFC 2047 encoded word
        assert re.fullmatch(r"<https?://[^<>]+>, ?<mailto:[^<>]+>", unfolded.strip()), unfolded
