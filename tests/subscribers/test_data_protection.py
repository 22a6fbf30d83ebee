"""Health data treated as health data (issue 13): no enumeration by timing, tracking asked, the
lawful basis on record, erasure that leaves no copy of the address, names without hidden text."""

import hashlib
import json
import re
import subprocess
from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsletter.models import (
    Campaign,
    ConsentWording,
    Delivery,
    SignupRequest,
    Subscriber,
    Suppression,
    WebhookEvent,
)
from newsletter.subscribers import signups, subscriptions
from newsletter.subscribers.addresses import SuppressionHash, suppression_hash
from newsletter.subscribers.tokens import confirm_url, preferences_url
from newsletter.web.forms import consent_wording
from tests.factories import SubscriberFactory, subscriber_table

KNOWN = {
    "new": None,
    "pending": {},
    "active": {"active": True},
    "unsubscribed": {"unsubscribed": True},
    "bounced": {"status": Subscriber.Status.BOUNCED},
}


TIMESTAMP = re.compile(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\+00:00'")


def _signup_statements(client, email, *, api):
    client.get("/join/")  # the consent wording is read once per process, before any of this
    with CaptureQueriesContext(connection) as queries:
        if api:
            response = client.post(
                "/api/subscribe/",
                {"email": email, "topics": ["news"], "consent": True},
                content_type="application/json",
            )
        else:
            response = client.post("/join/", {"email": email, "topics": ["news"], "consent": "on"})
    statements = [
        TIMESTAMP.sub("<now>", query["sql"].replace(email, "<address>")) for query in queries
    ]
    return response.status_code, response.content, statements


@pytest.mark.parametrize("api", [False, True], ids=["form", "api"])
def test_a_signup_runs_the_same_statements_for_new_pending_active_and_left_addresses(
    client, topics, api, django_capture_on_commit_callbacks
):
    outcomes = {}
    for state, traits in KNOWN.items():
        email = f"{state}@example.org"
        if traits is not None:
            SubscriberFactory(email=email, **traits)
        with django_capture_on_commit_callbacks() as queued:
            status, body, statements = _signup_statements(client, email, api=api)
        outcomes[state] = (status, body, statements, len(queued))

    assert len({repr(outcome) for outcome in outcomes.values()}) == 1, outcomes
    status, _, statements, queued = outcomes["new"]
    assert status == (202 if api else 200)
    assert queued == 1  # one task, which decides
    assert len(statements) <= 2  # the topics' lookup and the INSERT of the request
    assert any('INSERT INTO "newsletter_signuprequest"' in sql for sql in statements)
    assert not any("newsletter_subscriber" in sql for sql in statements)


def test_the_request_is_stored_before_the_answer(client, topics):
    response = client.post(
        "/api/subscribe/", {"email": "a@example.org", "consent": True}, "application/json"
    )

    assert response.status_code == 202
    assert SignupRequest.objects.get().email == "a@example.org"


def test_tracking_is_off_unless_the_person_ticks_it(
    client, topics, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/join/", {"email": "no@example.org", "topics": ["news"], "consent": "on"})
        client.post(
            "/join/",
            {
                "email": "yes@example.org",
                "topics": ["news"],
                "consent": "on",
                "allow_tracking": "on",
            },
        )

    assert Subscriber(email="x@example.org").allow_tracking is False
    assert dict(Subscriber.objects.values_list("email", "allow_tracking")) == {
        "no@example.org": False,
        "yes@example.org": True,
    }
    untracked = Subscriber.objects.get(email="no@example.org")
    page = client.get(preferences_url(untracked.pk).removeprefix(django_settings.SITE_URL))
    assert '<input type="checkbox" name="allow_tracking" id="id_allow_tracking">' in (
        page.content.decode()
    )


def test_the_api_asks_about_tracking_too(client, topics, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/api/subscribe/",
            {"email": "t@example.org", "consent": True, "allow_tracking": True},
            "application/json",
        )
    bad = client.post(
        "/api/subscribe/",
        {"email": "u@example.org", "consent": True, "allow_tracking": "yes"},
        "application/json",
    )

    assert Subscriber.objects.get().allow_tracking is True
    assert bad.status_code == 400
    assert bad.json()["errors"] == {
        "allow_tracking": ["Send true or false (leave it out for false)."]
    }


def test_the_export_holds_the_basis_the_wording_and_the_tracking_answer(
    client, topics, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = signups.signup_request(
            email="me@example.org", source="/join/", ip="192.0.2.7", allow_tracking=True
        )
    client.post(confirm_url(request.pk).removeprefix(django_settings.SITE_URL))
    subscriber = Subscriber.objects.get()

    data = subscriptions.export_data(subscriber)

    assert data["lawful_basis"] == "consent"
    assert data["lawful_basis_evidence"].startswith("Double opt-in: asked at")
    assert data["consent"]["wording_version"] == django_settings.CONSENT_VERSION
    assert data["consent"]["wording"] == consent_wording()
    assert data["consent"]["allow_tracking"] is True
    assert data["consent"]["ip"] == "192.0.2.7"
    (asked,) = data["signup_requests"]
    assert asked["ip"] == "192.0.2.7" and asked["confirmed_at"] is not None
    json.dumps(data)  # all of it JSON


def test_the_wording_of_each_version_is_kept_in_the_database(topics):
    wording = ConsentWording.objects.get(version="2026-11")

    assert wording.text.startswith("Yes, email me news, events and ways to get involved")
    assert consent_wording("2026-11") == wording.text


INVISIBLE = {
    "right-to-left override": "Ann\u202eelyoj",
    "zero-width space": "Ann\u200b",
    "zero-width joiner": "A\u200dnn",
    "byte order mark": "\ufeffAnn",
}


@pytest.mark.parametrize("name", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_a_name_with_invisible_formatting_gets_a_field_error_everywhere(client, topics, name):
    subscriber = SubscriberFactory(active=True, first_name="Ann")
    before = subscriber_table()
    reason = "A name cannot contain invisible formatting characters"

    form = client.post(
        "/join/",
        {"email": "n@example.org", "first_name": name, "topics": ["news"], "consent": "on"},
    )
    api = client.post(
        "/api/subscribe/",
        {"email": "n@example.org", "first_name": name, "consent": True},
        "application/json",
    )
    page = preferences_url(subscriber.pk).removeprefix(django_settings.SITE_URL)
    preferences = client.post(page, {"action": "save", "first_name": name, "topics": ["news"]})

    assert form.status_code == api.status_code == preferences.status_code == 400
    assert form.context["form"].errors["first_name"][0].startswith(reason)
    assert api.json()["errors"]["first_name"][0].startswith(reason)
    assert preferences.context["form"].errors["first_name"][0].startswith(reason)
    assert subscriber_table() == before
    assert SignupRequest.objects.count() == 0


def test_suppression_hashes_are_keyed(topics, settings):
    plain = hashlib.sha256(b"someone@example.org").hexdigest()
    keyed = suppression_hash("someone@example.org")

    settings.ADDRESS_HASH_KEY = "another key"

    assert keyed != plain
    assert suppression_hash("Someone@Example.org") != keyed
    assert len(keyed) == 64


def test_the_keyed_hash_in_sql_is_the_keyed_hash_in_python(topics, settings):
    settings.ADDRESS_HASH_KEY = "k" * 70  # longer than a SHA-256 block: hashed first, as HMAC does
    SubscriberFactory(email="sql@example.org")

    (in_sql,) = Subscriber.objects.annotate(h=SuppressionHash("email")).values_list("h", flat=True)

    assert in_sql == suppression_hash("sql@example.org")


def test_the_keyed_hash_in_sqlite_is_the_keyed_hash_in_python(django_db_blocker):
    """SQLite is the database of `make run`."""
    from django.db.backends.sqlite3.base import DatabaseWrapper

    wrapper = DatabaseWrapper({**connection.settings_dict, "NAME": ":memory:"}, alias="sqlite")
    with django_db_blocker.unblock():
        wrapper.connect()  # connection_created registers the function
        try:
            row = wrapper.connection.execute("SELECT engage_suppression_hash('a@example.org')")
            assert row.fetchone()[0] == suppression_hash("a@example.org")
        finally:
            wrapper.close()


def test_webhook_event_ids_use_the_keyed_hash_of_the_recipient(db):
    from anymail.signals import AnymailTrackingEvent

    from newsletter.inbound.webhooks import webhook_event_store
    from newsletter.subscribers.addresses import keyed_hash

    event = AnymailTrackingEvent(
        event_type="delivered", event_id="evt-1", recipient="Reader@Example.org", esp_event={}
    )
    stored = webhook_event_store(esp="Postmark", event=event)

    assert stored.event_id == "evt-1/" + keyed_hash("reader@example.org")[:16]
    assert hashlib.sha256(b"reader@example.org").hexdigest()[:16] not in stored.event_id


def test_the_migration_rekeys_stored_hashes_and_drops_events_of_erased_people(db):
    migration = import_module("newsletter.migrations.0021_data_protection_existing_rows")
    plain = hashlib.sha256(b"gone@example.org").hexdigest()
    Suppression.objects.create(email_hash=plain, reason="erased")
    legacy = hashlib.sha256(b"kept@example.org").hexdigest()[:16]
    kept = WebhookEvent.objects.create(
        esp="Postmark",
        event_id=f"abc/{legacy}",
        event_type="delivered",
        recipient="kept@example.org",
    )
    WebhookEvent.objects.create(
        esp="Postmark", event_id=f"def/{plain[:16]}", event_type="delivered", recipient=""
    )
    from django.apps import apps

    migration.forwards(apps, None)

    assert Suppression.objects.get().email_hash == suppression_hash("gone@example.org")
    kept.refresh_from_db()
    assert legacy not in kept.event_id and kept.event_id.startswith("abc/")
    assert WebhookEvent.objects.count() == 1


ADDRESS = "erase.me@example.org"


@pytest.mark.django_db(transaction=True)
def test_after_erasure_a_dump_of_the_database_holds_no_trace_of_the_address(client, topics):
    person = SubscriberFactory(email=ADDRESS, active=True, topics=[topics["news"]])
    campaign = Campaign.objects.create(subject="News", slug="news-1")
    Delivery.objects.create(
        campaign=campaign,
        subscriber=person,
        status=Delivery.Status.FAILED,
        last_error=f"550 5.1.1 <{ADDRESS}>: Recipient address rejected",
    )
    other = SubscriberFactory(email="other@example.org", active=True)
    Delivery.objects.create(  # a reply about another message that quotes the address
        campaign=Campaign.objects.create(subject="More", slug="news-2"),
        subscriber=other,
        status=Delivery.Status.FAILED,
        last_error=f"452 4.2.2 mailbox of {ADDRESS.upper()} is full",
    )
    WebhookEvent.objects.create(
        esp="Postmark", event_id="e-1", event_type="delivered", recipient=ADDRESS
    )
    signups.signup_request(email=ADDRESS, first_name="Erin", source="/join/", ip="192.0.2.1")
    LogEntry.objects.create(
        user=get_user_model().objects.create_user("manager", is_staff=True),
        content_type=ContentType.objects.get_for_model(Subscriber),
        object_id=str(person.pk),
        object_repr=ADDRESS,
        action_flag=CHANGE,
    )

    page = preferences_url(person.pk).removeprefix(django_settings.SITE_URL)
    assert client.post(page, {"action": "erase-confirmed"}).status_code == 200

    db = connection.settings_dict
    dump = (
        subprocess.run(
            [
                "pg_dump",
                "--data-only",
                "-h",
                db["HOST"] or "127.0.0.1",
                "-p",
                str(db["PORT"] or 5432),
                "-U",
                db["USER"],
                db["NAME"],
            ],
            capture_output=True,
            check=True,
            env={"PGPASSWORD": db["PASSWORD"] or "", "PATH": "/usr/bin:/bin"},
        )
        .stdout.decode()
        .lower()
    )
    assert "other@example.org" in dump  # the dump is of this database
    assert ADDRESS not in dump
    assert hashlib.sha256(ADDRESS.encode()).hexdigest() not in dump
    assert hashlib.sha256(ADDRESS.encode()).hexdigest()[:16] not in dump
    assert Suppression.objects.filter(email_hash=suppression_hash(ADDRESS)).exists()
