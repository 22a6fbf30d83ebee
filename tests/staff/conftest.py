"""The world the admin is walked in as each role, and the staff member of each role
(tests/staff/test_roles.py, test_admin_hostile_filters.py)."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.utils import timezone

from newsletter import series
from newsletter.api import keys
from newsletter.campaigns.states import transition
from newsletter.models import (
    AuditEvent,
    Campaign,
    Delivery,
    Image,
    InboundMessage,
    OutgoingEvent,
    Post,
    PostEngagement,
    Series,
    SeriesStep,
    SubscriberImport,
    Suppression,
    Topic,
    WebhookDelivery,
    WebhookEndpoint,
)
from newsletter.staff import two_factor
from tests.factories import (
    CampaignFactory,
    DigestScheduleFactory,
    PostFactory,
    SubscriberFactory,
    picture,
)
from tests.staff.roles_world import NO_GROUP, ROLES, SUPERUSER

Status = Campaign.Status


# --- The world each route is tried in ---------------------------------------------------------


@pytest.fixture
def world(topics, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    news, events = topics["news"], topics["events"]
    posts = [PostFactory(topic=news, title="Clinic opens"), PostFactory(topic=events)]

    def campaign(status=None, **kwargs):
        made = CampaignFactory(topics=[news, events], posts=posts, **kwargs)
        for step in {
            None: [],
            Status.SCHEDULED: [Status.SCHEDULED],
            Status.SENDING: [Status.SCHEDULED, Status.SENDING],
            Status.PAUSED: [Status.SCHEDULED, Status.SENDING, Status.PAUSED],
        }[status]:
            transition(made, step)
        made.refresh_from_db()
        return made

    sending = campaign(Status.SENDING)
    Campaign.objects.filter(pk=sending.pk).update(started_at=timezone.now())
    active = SubscriberFactory(email="active@example.org", active=True, topics=[news])
    failed = Delivery.objects.create(
        campaign=sending, subscriber=active, status=Delivery.Status.FAILED, attempts=1
    )
    victim = User.objects.create_user("victim", "victim@engage.example.org", is_staff=True)
    two_factor.enrol(victim)
    AuditEvent.objects.create(actor_name="someone", action="export", target="3 subscribers")
    endpoint = WebhookEndpoint.objects.create(
        name="CRM", url="https://crm.example.org/hook", events=["subscriber.erased"],
        scope="full", secret="whsec_" + "A" * 44, paused_at=timezone.now(), last_sequence=1,
    )  # fmt: skip
    event = OutgoingEvent.objects.create(type="subscriber.erased", data={"subscriber": {"id": 1}})
    return {
        "api key": keys.key_create(name="CRM", scope="subscribers")[0],
        "endpoint": endpoint,
        "webhook delivery": WebhookDelivery.objects.create(
            event=event, endpoint=endpoint, sequence=1, status=WebhookDelivery.Status.FAILED
        ),
        "draft": campaign(),
        "scheduled": campaign(Status.SCHEDULED),
        "sending": sending,
        "paused": campaign(Status.PAUSED),
        "pending": SubscriberFactory(email="pending@example.org"),
        "active": active,
        "failed": failed,
        "schedule": DigestScheduleFactory(topics=[news]),
        "spare post": PostFactory(topic=news),
        "spare topic": Topic.objects.create(slug="spare", name="Spare"),
        "suppression": Suppression.objects.create(email_hash="0" * 64, reason="erased"),
        "victim": victim,
        "victims": Group.objects.create(name="victims"),
        "audit event": AuditEvent.objects.get(actor_name="someone"),
        "event": _engaging(PostFactory(kind=Post.Kind.EVENT, topic=events), takes_rsvps=True),
        "get involved": _engaging(
            PostFactory(kind=Post.Kind.GET_INVOLVED, topic=news), count_me_in=True
        ),
        "series": _series("Draft series"),
        "active series": _series("Active series", activate=True),
        "image": Image.objects.create(file=ContentFile(picture(), name="walk.png"), alt="A walk"),
        "import": SubscriberImport.objects.create(
            data="email\nnew@example.org\n",
            headers=["email"],
            mapping=["email"],
            rows_total=1,
            status=SubscriberImport.Status.CHECKED,
        ),
        "inbound": InboundMessage.objects.create(
            source="imap", digest="f" * 64, kind="hard_bounce", subscriber=active, raw=b"Subject: x"
        ),
    }


def _series(name, activate=False):
    made = Series.objects.create(name=name)
    SeriesStep.objects.create(series=made, position=1, subject="Welcome", body="Hello.")
    if activate:
        series.series_activate(series=made)
    return made


def _engaging(post, **answers):
    PostEngagement.objects.create(post=post, **answers)
    return post


@pytest.fixture
def people():
    users = {}
    for role in ROLES:
        username = role.replace(" ", "-")
        email = f"{username}@engage.example.org"
        if role == SUPERUSER:
            users[role] = User.objects.create_superuser(username, email)
            continue
        users[role] = User.objects.create_user(username, email, is_staff=True)
        if role != NO_GROUP:
            users[role].groups.add(Group.objects.get(name=role))
    return users
