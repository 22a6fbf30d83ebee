"""Subscribers through the API: a signup is the join form's signup, an import follows the CSV
import's rules, and changes go through the preference centre's functions."""

import pytest
from django.core import mail

from newsletter.mail import access as reading
from newsletter.models import AuditEvent, SignupRequest, Subscriber, Suppression
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/subscribers/"


def test_a_signup_sends_the_double_opt_in_email_and_is_audited_with_the_keys_name(
    crm, topics, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = crm.post(URL, {"email": "Ada@Example.org", "topics": ["news"], "consent": True})

    assert response.status_code == 202, response.content
    assert response.json() == {"status": "pending"}
    signup = SignupRequest.objects.get()
    assert signup.email == "ada@example.org"
    assert signup.source == "api: CRM sync"
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    assert len(mail.outbox) == 1 and "confirm" in mail.outbox[0].body.lower()
    assert AuditEvent.objects.filter(actor_name="API key: CRM sync", action="api: signup").exists()


def test_a_signup_without_consent_is_refused_with_a_field_error(crm, topics):
    response = crm.post(URL, {"email": "ada@example.org"})

    assert response.status_code == 400
    assert "consent" in response.json()["error"]["fields"]
    assert not SignupRequest.objects.exists()


def test_an_import_with_consent_and_its_date_is_active_at_once(crm, topics):
    response = crm.post(
        URL,
        {
            "mode": "import",
            "email": "grace@example.org",
            "first_name": "Grace",
            "topics": ["events"],
            "consent": True,
            "consent_at": "2026-03-01T10:00:00Z",
            "consent_source": "CRM: donation form",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "active" and body["topics"] == ["events"]
    assert not mail.outbox  # an import sends nothing


def test_an_import_without_a_consent_date_is_pending_and_the_suppressed_are_left_alone(crm, topics):
    pending = crm.post(URL, {"mode": "import", "email": "p@example.org", "consent": False})
    crm.post("/api/v1/suppressions/", {"email": "gone@example.org", "reason": "requested"})
    suppressed = crm.post(URL, {"mode": "import", "email": "gone@example.org", "consent": False})

    assert pending.status_code == 201 and pending.json()["status"] == "pending"
    assert suppressed.status_code == 409
    assert suppressed.json()["error"]["code"] == "suppressed"
    assert not Subscriber.objects.filter(email="gone@example.org").exists()


def test_the_soft_opt_in_needs_its_evidence(crm, topics, settings):
    settings.CHARITY_SOFT_OPT_IN_FROM = None
    response = crm.post(
        URL,
        {"mode": "import", "email": "s@example.org", "lawful_basis": "charity-soft-opt-in"},
    )

    assert response.status_code == 400
    assert "soft opt-in" in response.json()["error"]["message"]
    assert not Subscriber.objects.exists()


def test_the_list_pages_by_cursor_in_update_order(crm, topics):
    made = [SubscriberFactory(email=f"r{i}@example.org") for i in range(5)]

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = crm.get(URL, **params).json()
        seen += [row["id"] for row in page["results"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [s.pk for s in sorted(made, key=lambda s: (s.updated_at, s.pk))]


def test_updated_since_returns_only_later_changes(crm, topics):
    old = SubscriberFactory()
    Subscriber.objects.filter(pk=old.pk).update(updated_at="2020-01-01T00:00:00Z")
    new = SubscriberFactory()

    page = crm.get(URL, updated_since="2025-01-01T00:00:00Z").json()

    assert [row["id"] for row in page["results"]] == [new.pk]


def test_topics_and_name_change_as_in_the_preference_centre(crm, topics):
    reader = SubscriberFactory(first_name="Old")
    reader.topics.set([topics["news"]])

    response = crm.patch(f"{URL}{reader.pk}/", {"first_name": "New", "topics": ["education"]})

    assert response.status_code == 200, response.content
    reader.refresh_from_db()
    assert reader.first_name == "New"
    assert list(reader.topics.values_list("slug", flat=True)) == ["education"]


def test_unsubscribe_then_erase_then_nothing_is_left(crm, topics):
    reader = SubscriberFactory(email="leaver@example.org")

    first = crm.post(f"{URL}{reader.pk}/unsubscribe/")
    again = crm.post(f"{URL}{reader.pk}/unsubscribe/")
    erased = crm.delete(f"{URL}{reader.pk}/")
    after = crm.get(f"{URL}{reader.pk}/")

    assert first.json() == {"changed": True, "status": "unsubscribed"}
    assert again.json()["changed"] is False
    assert erased.status_code == 204
    assert after.status_code == 404
    assert Suppression.objects.filter(reason="erased").count() == 1


def test_the_data_download_is_the_preference_centres(crm, topics):
    reader = SubscriberFactory(email="me@example.org")

    response = crm.get(f"{URL}{reader.pk}/export/")

    assert response.status_code == 200
    assert response.json()["email"] == "me@example.org"
    assert AuditEvent.objects.filter(action="api: export").exists()


def test_a_suppression_is_checked_by_address_and_listed_by_hash(crm, topics):
    reader = SubscriberFactory(email="fps@example.org")

    added = crm.post("/api/v1/suppressions/", {"email": "FPS@example.org", "note": "FPS request"})
    check = crm.get("/api/v1/suppressions/check/", email="fps@example.org").json()
    other = crm.get("/api/v1/suppressions/check/", email="else@example.org").json()
    listed = crm.get("/api/v1/suppressions/").json()

    assert added.status_code == 201
    assert check == {"suppressed": True, "reason": "requested"}
    assert other == {"suppressed": False, "reason": None}
    assert len(listed["results"]) == 1 and "@" not in str(listed)
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.UNSUBSCRIBED


def test_a_signup_takes_the_join_forms_reading_preferences_and_the_first_email_honours_them(
    crm, topics, django_capture_on_commit_callbacks
):
    body = {"email": "ada@example.org", "consent": True, "access": ["plain_text_only", "no_images"]}
    with django_capture_on_commit_callbacks(execute=True):
        response = crm.post(URL, body)

    assert response.status_code == 202, response.content
    assert SignupRequest.objects.get().access == ["plain_text_only", "no_images"]
    subscriber = Subscriber.objects.get()
    assert (subscriber.plain_text_only, subscriber.larger_text, subscriber.no_images) == (
        True,
        False,
        True,
    )
    # The confirmation email is plain text only, as for a reader who ticked it on the join form.
    [confirmation] = mail.outbox
    assert confirmation.alternatives == []


@pytest.mark.parametrize(
    "access", [["bold"], "plain_text_only", [1], ["no_images"] * 4, None], ids=repr
)
def test_a_reading_preference_the_form_does_not_offer_is_refused_with_a_field_error(
    crm, topics, access
):
    response = crm.post(URL, {"email": "ada@example.org", "consent": True, "access": access})

    assert response.status_code == 400, response.content
    assert not SignupRequest.objects.exists()


def test_an_import_cannot_choose_reading_preferences_for_the_reader(crm, topics):
    response = crm.post(
        URL,
        {"mode": "import", "email": "ada@example.org", "consent": True, "access": ["larger_text"]},
    )

    assert response.status_code == 400
    assert "access" in response.json()["error"]["fields"]
    assert not Subscriber.objects.exists()


def test_the_schema_documents_the_reading_preferences(crm):
    schema = crm.get("/api/v1/schema/").json()

    field = schema["components"]["schemas"]["SubscriberIn"]["properties"]["access"]
    assert field["items"]["enum"] == ["plain_text_only", "larger_text", "no_images"]
    assert "plain_text_only" in field["description"]


def test_a_subscriber_reads_back_with_their_reading_preferences(crm, topics):
    reader = SubscriberFactory(larger_text=True, no_images=True)
    other = SubscriberFactory()

    one = crm.get(f"{URL}{reader.pk}/").json()
    listed = {row["id"]: row["access"] for row in crm.get(URL).json()["results"]}

    assert one["access"] == ["larger_text", "no_images"]
    assert listed == {reader.pk: ["larger_text", "no_images"], other.pk: []}


def test_a_reading_preference_the_reader_asked_for_is_set_and_the_next_email_honours_it(
    crm, topics
):
    reader = SubscriberFactory(first_name="Ada", no_images=True)
    reader.topics.set([topics["news"]])

    response = crm.patch(f"{URL}{reader.pk}/", {"access": ["plain_text_only", "larger_text"]})

    assert response.status_code == 200, response.content
    assert response.json()["access"] == ["plain_text_only", "larger_text"]
    reader.refresh_from_db()
    assert (reader.plain_text_only, reader.larger_text, reader.no_images) == (True, True, False)
    # The name and topics the PATCH did not name stay.
    assert reader.first_name == "Ada"
    assert list(reader.topics.values_list("slug", flat=True)) == ["news"]
    assert AuditEvent.objects.filter(
        actor_name="API key: CRM sync", action="api: preferences"
    ).exists()
    # The next email goes out as plain text alone.
    html, text = reading.adapt("<html><head></head></html>", "Hello", reading.choices_of(reader))
    assert (html, text) == ("", "Hello")


def test_a_patch_without_access_keeps_the_reading_preferences_and_an_empty_list_clears_them(
    crm, topics
):
    reader = SubscriberFactory(larger_text=True)

    kept = crm.patch(f"{URL}{reader.pk}/", {"first_name": "Bea"})
    cleared = crm.patch(f"{URL}{reader.pk}/", {"access": []})

    assert kept.json()["access"] == ["larger_text"]
    assert cleared.json()["access"] == []
    reader.refresh_from_db()
    assert not reader.larger_text and reader.first_name == "Bea"


@pytest.mark.parametrize(
    "access", [["bold"], "larger_text", [1], ["no_images"] * 4, {"larger_text": True}], ids=repr
)
def test_a_patch_with_a_reading_preference_we_do_not_offer_is_refused_and_changes_nothing(
    crm, topics, access
):
    reader = SubscriberFactory(first_name="Ada", larger_text=True)

    response = crm.patch(f"{URL}{reader.pk}/", {"first_name": "Changed", "access": access})

    assert response.status_code == 400, response.content
    reader.refresh_from_db()
    assert reader.first_name == "Ada" and reader.larger_text


def test_the_schema_documents_the_reading_preferences_read_back_and_patched(crm):
    schemas = crm.get("/api/v1/schema/").json()["components"]["schemas"]

    assert "larger_text" in schemas["SubscriberOut"]["properties"]["access"]["description"]
    assert "access" in schemas["SubscriberOut"]["required"]
    patch = schemas["SubscriberPatch"]["properties"]["access"]
    assert "phone" in patch["description"]
    assert ["plain_text_only", "larger_text", "no_images"] in [
        option.get("items", {}).get("enum") for option in patch["anyOf"]
    ]
