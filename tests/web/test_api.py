import json

import pytest
from django.core import mail

from newsletter.models import SignupRequest, Subscriber
from tests.factories import SubscriberFactory, subscriber_table

URL = "/api/subscribe/"


def post_json(client, payload, **extra):
    body = payload if isinstance(payload, bytes | str) else json.dumps(payload)
    return client.post(URL, body, content_type="application/json", **extra)


@pytest.fixture
def known(topics):
    """Someone already on the list, who must not be changed by anybody's bad request."""
    return SubscriberFactory(email="known@example.org", active=True, topics=[topics["news"]])


def test_it_accepts_a_signup_and_records_consent(
    client, topics, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(
            client,
            {
                "email": "Alice@Example.ORG",
                "first_name": "Alice",
                "topics": ["news"],
                "consent": True,
            },
            HTTP_USER_AGENT="TestBrowser/1.0",
        )

    assert response.status_code == 202
    assert response.json() == {"status": "pending"}
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "alice@example.org"
    assert subscriber.status == Subscriber.Status.PENDING
    assert [t.slug for t in subscriber.topics.all()] == ["news"]
    assert subscriber.consent_source == "api"
    assert subscriber.consent_ip == "127.0.0.1"
    assert subscriber.consent_user_agent == "TestBrowser/1.0"
    assert subscriber.consent_version == settings.CONSENT_VERSION
    assert subscriber.consent_at is not None
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]


def test_it_subscribes_to_every_topic_when_none_are_named(
    client, topics, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(client, {"email": "bob@example.org", "consent": True})

    assert response.status_code == 202
    assert Subscriber.objects.get().topics.count() == 4


@pytest.mark.parametrize("state", ["pending", "active", "unsubscribed"])
def test_it_answers_a_known_address_exactly_as_a_new_one(client, topics, state):
    fresh = post_json(client, {"email": "new@example.org", "consent": True})
    traits = {"active": {"active": True}, "unsubscribed": {"unsubscribed": True}}.get(state, {})
    SubscriberFactory(email="old@example.org", **traits)

    again = post_json(client, {"email": "old@example.org", "consent": True})

    assert (again.status_code, again.content) == (fresh.status_code, fresh.content)
    assert again.headers["Content-Type"] == fresh.headers["Content-Type"]


def test_it_leaves_an_active_subscriber_unchanged(client, known):
    before = subscriber_table()

    response = post_json(
        client, {"email": "KNOWN@example.org", "first_name": "Mallory", "consent": True}
    )

    assert response.status_code == 202
    assert subscriber_table() == before
    assert mail.outbox == []


def test_it_sends_one_confirmation_per_interval_however_often_an_address_signs_up(
    client, topics, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to("2026-11-24 10:00:00Z", tick=False)
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            assert (
                post_json(client, {"email": "target@example.org", "consent": True}).status_code
                == 202
            )
    assert len(mail.outbox) == 1

    time_machine.move_to("2026-11-24 10:11:00Z", tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        post_json(client, {"email": "target@example.org", "consent": True})
    assert len(mail.outbox) == 2


BAD_PAYLOADS = {
    "malformed email": ({"email": "not-an-address", "consent": True}, "email"),
    "email without a domain": ({"email": "someone@", "consent": True}, "email"),
    "overlong email": ({"email": "a" * 250 + "@example.org", "consent": True}, "email"),
    "email that is a number": ({"email": 42, "consent": True}, "email"),
    "missing email": ({"consent": True}, "email"),
    "CR/LF in the email": (
        {"email": "x@example.org\r\nBcc: y@example.org", "consent": True},
        "email",
    ),
    "trailing newline in the email": ({"email": "x@example.org\n", "consent": True}, "email"),
    "CR/LF in the name": (
        {"email": "x@example.org", "first_name": "Eve\r\nBcc: y@example.org", "consent": True},
        "first_name",
    ),
    "overlong name": (
        {"email": "x@example.org", "first_name": "n" * 101, "consent": True},
        "first_name",
    ),
    "name that is a list": (
        {"email": "x@example.org", "first_name": ["a"], "consent": True},
        "first_name",
    ),
    "CR/LF in a topic": (
        {"email": "x@example.org", "topics": ["news\r\n"], "consent": True},
        "topics",
    ),
    "unknown topic": ({"email": "x@example.org", "topics": ["gossip"], "consent": True}, "topics"),
    "topics as a string": ({"email": "x@example.org", "topics": "news", "consent": True}, "topics"),
    "topics with a number": ({"email": "x@example.org", "topics": [1], "consent": True}, "topics"),
    "no topics": ({"email": "x@example.org", "topics": [], "consent": True}, "topics"),
    "a lone surrogate in a topic": (
        {"email": "x@example.org", "topics": ["\ud800"], "consent": True},
        "topics",
    ),
    "missing consent": ({"email": "x@example.org"}, "consent"),
    "consent false": ({"email": "x@example.org", "consent": False}, "consent"),
    "consent as a string": ({"email": "x@example.org", "consent": "yes"}, "consent"),
    "a JSON array": ([{"email": "x@example.org", "consent": True}], "body"),
    "a JSON string": ('"x@example.org"', "body"),
}


@pytest.mark.parametrize("payload, field", BAD_PAYLOADS.values(), ids=BAD_PAYLOADS.keys())
def test_it_refuses_bad_input_with_a_field_error_and_changes_nothing(client, known, payload, field):
    before = subscriber_table()

    response = post_json(client, payload)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field] or field in errors
    assert all(isinstance(reason, str) and reason for reason in errors[field])
    assert subscriber_table() == before
    assert mail.outbox == []


BAD_BODIES = {
    "blank": (b"  ", "application/json", 400),
    "not JSON": (b"email=x@example.org&consent=true", "application/json", 400),
    "truncated JSON": (b'{"email": "x@example.org", ', "application/json", 400),
    "not UTF-8": (
        '{"email": "café@example.org", "consent": true}'.encode("latin-1"),
        "application/json",
        400,
    ),
    "deeply nested JSON": (b"[" * 50_000 + b"]" * 10, "application/json", 400),
    "a form content type": (
        b"email=x@example.org&consent=true",
        "application/x-www-form-urlencoded",
        415,
    ),
    "plain text": (b'{"email": "x@example.org", "consent": true}', "text/plain", 415),
}


@pytest.mark.parametrize("body, content_type, status", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_it_refuses_an_unreadable_body_and_changes_nothing(
    client, known, body, content_type, status
):
    before = subscriber_table()

    response = client.post(URL, body, content_type=content_type)

    assert response.status_code == status
    assert response.json()["errors"]["body"]
    assert subscriber_table() == before


def test_it_refuses_an_oversize_body_with_413(client, known, settings):
    before = subscriber_table()
    payload = {"email": "x@example.org", "consent": True, "padding": "x" * (70 * 1024)}

    response = post_json(client, payload)

    assert response.status_code == 413
    assert "larger than" in response.json()["errors"]["body"][0]
    assert subscriber_table() == before


def test_it_refuses_get(client, db):
    assert client.get(URL).status_code == 405


def test_it_answers_429_to_a_flood_from_one_address(client, topics, settings):
    settings.SIGNUP_RATE = "5/m"
    statuses = [
        post_json(client, {"email": f"bot{i}@example.org", "consent": True}).status_code
        for i in range(8)
    ]

    assert statuses == [202] * 5 + [429] * 3
    assert SignupRequest.objects.count() == 5
    flooded = post_json(client, {"email": "late@example.org", "consent": True})
    assert "Too many signups" in flooded.json()["errors"]["__all__"][0]


def test_it_counts_each_client_ip_separately_in_the_rate_limit(client, topics, settings):
    settings.SIGNUP_RATE = "2/m"
    for i in range(2):
        post_json(client, {"email": f"a{i}@example.org", "consent": True})

    other = post_json(
        client, {"email": "b@example.org", "consent": True}, REMOTE_ADDR="198.51.100.7"
    )

    assert other.status_code == 202


def test_the_json_signup_takes_the_join_forms_reading_preferences(client, topics):
    response = post_json(
        client, {"email": "ada@example.org", "consent": True, "access": ["larger_text"]}
    )

    assert response.status_code == 202
    assert SignupRequest.objects.get().access == ["larger_text"]


@pytest.mark.parametrize("access", [["bold"], "larger_text", [None]], ids=repr)
def test_the_json_signup_refuses_a_reading_preference_the_form_does_not_offer(
    client, topics, access
):
    response = post_json(client, {"email": "ada@example.org", "consent": True, "access": access})

    assert response.status_code == 400
    assert "access" in response.json()["errors"]
    assert not SignupRequest.objects.exists()
