import smtplib
from datetime import timedelta
from html import unescape

import pytest
from django.core import mail
from django.utils import timezone

from newsletter.models import SignupRequest, Subscriber, Suppression
from newsletter.subscribers import signups, subscriptions
from newsletter.subscribers.addresses import suppression_hash
from newsletter.subscribers.tokens import confirm_url, make_token
from tests.factories import SubscriberFactory, subscriber_table


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


def ask(email="pending@example.org", **details) -> SignupRequest:
    """A signup as the join form stores it (its email not sent yet)."""
    details.setdefault("topic_slugs", ["news"])
    return signups.signup_request(email=email, source="/join/", **details)


@pytest.fixture
def signup(topics):
    return ask(first_name="Pat")


@pytest.fixture
def pending(signup, sink):
    """A pending subscriber whose confirmation email went out."""
    assert signups.signup_process(signup_id=signup.pk) is True
    sink.reset()
    return Subscriber.objects.get(email="pending@example.org")


def confirm(client, signup):
    link = path_of(confirm_url(signup.pk))
    return client.post(link)


def test_the_confirmation_email_has_both_parts_and_the_signed_link(
    signup, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)  # the link carries its signing time
    assert signups.signup_process(signup_id=signup.pk) is True

    (message,) = mail.outbox
    link = confirm_url(signup.pk)
    assert message.to == ["pending@example.org"]
    assert "confirm" in message.subject.lower()
    assert link in message.body
    assert "7 days" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{link}"' in html
    assert Subscriber.objects.get().confirmation_sent_at is not None


def test_the_resend_guard_holds_whoever_asks(signup, django_capture_on_commit_callbacks, client):
    signups.signup_process(signup_id=signup.pk)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/join/",
            {"email": "pending@example.org", "topics": ["news"], "consent": "on"},
        )
        signups.queue_confirmation(subscriber_id=Subscriber.objects.get().pk)  # the admin's

    assert signups.send_confirmation(signup_id=signup.pk) is False
    assert len(mail.outbox) == 1


def test_confirmation_emails_to_one_address_are_capped_per_day(
    topics, settings, time_machine, django_capture_on_commit_callbacks
):
    settings.CONFIRMATION_DAILY_CAP = 3
    time_machine.move_to(timezone.now(), tick=False)
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            ask()
        time_machine.shift(settings.CONFIRMATION_RESEND_INTERVAL + 1)

    assert len(mail.outbox) == 3
    time_machine.shift(24 * 3600)
    with django_capture_on_commit_callbacks(execute=True):
        ask()
    assert len(mail.outbox) == 4


def test_a_failed_send_gives_the_claim_back_so_a_retry_can_send(signup, sink):
    sink.handler.temporary_failure = "421 4.3.2 try later"

    with pytest.raises(smtplib.SMTPException):
        signups.signup_process(signup_id=signup.pk)
    assert Subscriber.objects.get().confirmation_sent_at is None
    assert SignupRequest.objects.get().confirmation_sent_at is None

    sink.handler.temporary_failure = None
    assert signups.send_confirmation(signup_id=signup.pk) is True
    assert len(sink.received) == 1


def test_no_confirmation_goes_to_someone_who_is_active(topics):
    SubscriberFactory(email="pending@example.org", active=True)

    assert signups.signup_process(signup_id=ask().pk) is False
    assert mail.outbox == []


def test_the_link_opens_a_page_with_a_button_and_changes_nothing(client, pending, signup):
    before = subscriber_table()

    response = client.get(path_of(confirm_url(signup.pk)))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<form method="post">' in html
    assert "Confirm my subscription</button>" in html
    assert subscriber_table() == before


def test_the_button_activates_a_pending_subscriber(client, pending, signup):
    response = confirm(client, signup)

    assert response.status_code == 200
    assert "you are subscribed" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.ACTIVE
    assert pending.confirmed_at is not None
    assert pending.lawful_basis == Subscriber.LawfulBasis.CONSENT
    assert "Double opt-in" in pending.lawful_basis_evidence


def test_the_button_needs_the_csrf_token_of_the_page(pending, signup):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)

    assert browser.post(path_of(confirm_url(signup.pk))).status_code == 403
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_a_replayed_link_says_already_confirmed_and_changes_nothing(client, pending, signup):
    confirm(client, signup)
    before = subscriber_table()

    response = confirm(client, signup)

    assert response.status_code == 200
    assert "already subscribed" in response.content.decode()
    assert subscriber_table() == before


def test_a_second_signup_changes_nothing_until_its_own_link_is_confirmed(
    client, pending, signup, sink, time_machine, settings
):
    before = subscriber_table()
    time_machine.move_to(timezone.now() + timedelta(seconds=settings.CONFIRMATION_RESEND_INTERVAL))
    second = ask(first_name="Mallory", topic_slugs=["events"], ip="203.0.113.9")
    assert signups.signup_process(signup_id=second.pk) is True

    after = subscriber_table()
    assert [{**r, "confirmation_sent_at": None} for r in after] == [
        {**r, "confirmation_sent_at": None} for r in before
    ]

    confirm(client, second)
    pending.refresh_from_db()
    assert pending.first_name == "Mallory"
    assert [t.slug for t in pending.topics.all()] == ["events"]
    assert pending.consent_ip == "203.0.113.9"


def test_an_unsubscribed_person_comes_back_only_with_a_link_asked_for_after_leaving(
    client, pending, signup, time_machine
):
    confirm(client, signup)
    subscriptions.unsubscribe(subscriber_id=pending.pk)
    time_machine.move_to(timezone.now() + timedelta(seconds=60))
    again = ask(first_name="Pat again")
    signups.signup_process(signup_id=again.pk)

    assert confirm(client, signup).status_code == 400  # the old link
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED
    assert confirm(client, again).status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE
    assert Subscriber.objects.get().first_name == "Pat again"


def test_an_expired_link_gets_400_with_the_reason(client, signup, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    signups.signup_process(signup_id=signup.pk)
    link = path_of(confirm_url(signup.pk))
    time_machine.shift(8 * 24 * 3600)
    before = subscriber_table()

    response = client.post(link)

    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert subscriber_table() == before


@pytest.mark.parametrize(
    "token",
    [
        "forged",
        "1:abc:def",
        "not-even-close-to-a-token" * 20,
    ],
)
def test_a_forged_link_gets_400(client, pending, token):
    before = subscriber_table()

    response = client.post(f"/confirm/{token}/")

    assert response.status_code == 400
    assert "not valid" in unescape(response.content.decode())
    assert subscriber_table() == before


def test_a_tampered_id_gets_400(client, pending, signup):
    other = ask("other@example.org")
    token = make_token("confirm", signup.pk).replace(str(signup.pk), str(other.pk), 1)

    response = client.post(f"/confirm/{token}/")

    assert response.status_code == 400
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


@pytest.mark.parametrize("purpose", ["unsubscribe", "preferences"])
def test_a_token_made_for_another_purpose_gets_400(client, pending, signup, purpose):
    response = client.post(f"/confirm/{make_token(purpose, signup.pk)}/")

    assert response.status_code == 400
    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.PENDING


@pytest.mark.parametrize(
    "status",
    [Subscriber.Status.UNSUBSCRIBED, Subscriber.Status.BOUNCED, Subscriber.Status.COMPLAINED],
)
def test_an_old_link_never_reactivates_someone_who_left(client, pending, signup, status):
    Subscriber.objects.filter(pk=pending.pk).update(status=status, unsubscribed_at=timezone.now())
    before = subscriber_table()

    response = confirm(client, signup)

    assert response.status_code == 400
    assert "no longer works" in response.content.decode()
    assert subscriber_table() == before


def test_a_link_for_an_erased_subscriber_gets_400(client, pending, signup):
    subscriptions.erase(subscriber_id=pending.pk)

    assert confirm(client, signup).status_code == 400


def test_confirming_a_fresh_signup_lifts_the_erasure_of_that_address(
    client, topics, django_capture_on_commit_callbacks
):
    gone = SubscriberFactory(email="again@example.org", active=True)
    subscriptions.erase(subscriber_id=gone.pk)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/api/subscribe/",
            {"email": "again@example.org", "consent": True},
            content_type="application/json",
        )
    (message,) = mail.outbox
    assert Suppression.objects.filter(email_hash=suppression_hash("again@example.org")).exists()

    link = next(word for word in message.body.split() if "/confirm/" in word)
    client.post(path_of(link))

    assert Subscriber.objects.get(email="again@example.org").status == Subscriber.Status.ACTIVE
    assert not Suppression.objects.filter(email_hash=suppression_hash("again@example.org")).exists()
