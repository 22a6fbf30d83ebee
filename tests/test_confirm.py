import smtplib
from html import unescape

import pytest
from django.core import mail
from django.utils import timezone

from newsletter import subscriptions
from newsletter.addresses import suppression_hash
from newsletter.models import Subscriber, Suppression
from newsletter.tokens import confirm_url, make_token

from .factories import SubscriberFactory, subscriber_table


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


@pytest.fixture
def pending(topics):
    return SubscriberFactory(email="pending@example.org", topics=[topics["news"]])


def test_the_confirmation_email_has_both_parts_and_the_signed_link(
    pending, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)  # the link carries its signing time
    with django_capture_on_commit_callbacks(execute=True):
        subscriptions.queue_confirmation(subscriber_id=pending.pk)

    (message,) = mail.outbox
    link = confirm_url(pending.pk)
    assert message.to == ["pending@example.org"]
    assert "confirm" in message.subject.lower()
    assert link in message.body
    assert "7 days" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{link}"' in html
    pending.refresh_from_db()
    assert pending.confirmation_sent_at is not None


def test_the_resend_guard_holds_whoever_asks(pending, django_capture_on_commit_callbacks, client):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/join/",
            {"email": "pending@example.org", "topics": ["news"], "consent": "on"},
        )
        subscriptions.queue_confirmation(subscriber_id=pending.pk)  # the admin's resend

    assert subscriptions.send_confirmation(subscriber_id=pending.pk) is False
    assert len(mail.outbox) == 1


def test_a_failed_send_gives_the_claim_back_so_a_retry_can_send(pending, sink):
    sink.handler.temporary_failure = "421 4.3.2 try later"

    with pytest.raises(smtplib.SMTPException):
        subscriptions.send_confirmation(subscriber_id=pending.pk)
    pending.refresh_from_db()
    assert pending.confirmation_sent_at is None

    sink.handler.temporary_failure = None
    assert subscriptions.send_confirmation(subscriber_id=pending.pk) is True
    assert len(sink.received) == 1


def test_no_confirmation_goes_to_someone_who_is_not_pending(topics):
    active = SubscriberFactory(active=True)

    assert subscriptions.send_confirmation(subscriber_id=active.pk) is False
    assert mail.outbox == []


def test_the_link_activates_a_pending_subscriber(client, pending):
    response = client.get(path_of(confirm_url(pending.pk)))

    assert response.status_code == 200
    assert "you are subscribed" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.ACTIVE
    assert pending.confirmed_at is not None


def test_a_replayed_link_says_already_confirmed_and_changes_nothing(client, pending):
    link = path_of(confirm_url(pending.pk))
    client.get(link)
    before = subscriber_table()

    response = client.get(link)

    assert response.status_code == 200
    assert "already subscribed" in response.content.decode()
    assert subscriber_table() == before


def test_an_expired_link_gets_400_with_the_reason(client, pending, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    link = path_of(confirm_url(pending.pk))
    time_machine.shift(8 * 24 * 3600)
    before = subscriber_table()

    response = client.get(link)

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

    response = client.get(f"/confirm/{token}/")

    assert response.status_code == 400
    assert "not valid" in unescape(response.content.decode())
    assert subscriber_table() == before


def test_a_tampered_id_gets_400(client, pending):
    other = SubscriberFactory()
    token = make_token("confirm", pending.pk).replace(str(pending.pk), str(other.pk), 1)

    response = client.get(f"/confirm/{token}/")

    assert response.status_code == 400
    other.refresh_from_db()
    assert other.status == Subscriber.Status.PENDING


@pytest.mark.parametrize("purpose", ["unsubscribe", "preferences"])
def test_a_token_made_for_another_purpose_gets_400(client, pending, purpose):
    response = client.get(f"/confirm/{make_token(purpose, pending.pk)}/")

    assert response.status_code == 400
    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.PENDING


@pytest.mark.parametrize(
    "status",
    [Subscriber.Status.UNSUBSCRIBED, Subscriber.Status.BOUNCED, Subscriber.Status.COMPLAINED],
)
def test_an_old_link_never_reactivates_someone_who_left(client, pending, status):
    link = path_of(confirm_url(pending.pk))
    Subscriber.objects.filter(pk=pending.pk).update(status=status)
    before = subscriber_table()

    response = client.get(link)

    assert response.status_code == 400
    assert "no longer works" in response.content.decode()
    assert subscriber_table() == before


def test_a_link_for_an_erased_subscriber_gets_400(client, pending):
    link = path_of(confirm_url(pending.pk))
    subscriptions.erase(subscriber_id=pending.pk)

    assert client.get(link).status_code == 400


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
    client.get(path_of(link))

    assert Subscriber.objects.get(email="again@example.org").status == Subscriber.Status.ACTIVE
    assert not Suppression.objects.filter(email_hash=suppression_hash("again@example.org")).exists()


def test_confirm_does_not_answer_post(client, pending):
    assert client.post(path_of(confirm_url(pending.pk))).status_code == 405
