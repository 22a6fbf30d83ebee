"""One suppression list: every path that suppresses writes the hashed row with its reason, and the
audience, the CSV import and signup all read it."""

import uuid

import pytest
from anymail.exceptions import AnymailRecipientsRefused
from anymail.signals import AnymailTrackingEvent, EventType
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.utils import timezone

from newsletter import delivery
from newsletter.inbound.receive import receive
from newsletter.inbound.webhooks import webhook_event_process, webhook_event_store
from newsletter.models import Campaign, Delivery, SignupRequest, Subscriber, Suppression
from newsletter.subscribers import signups, subscriptions
from newsletter.subscribers.addresses import suppression_hash
from tests import ledger
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory
from tests.inbound_mail import BOUNCE_ADDRESS, corpus

pytestmark = pytest.mark.django_db
Status = Subscriber.Status
Reason = Suppression.Reason


def reason_for(email: str) -> str | None:
    rows = Suppression.objects.filter(email_hash=suppression_hash(email))
    return rows.values_list("reason", flat=True).first()


def status_of(subscriber) -> str:
    return Subscriber.objects.get(pk=subscriber.pk).status


@pytest.fixture
def campaign(topics):
    return CampaignFactory(
        posts=[PostFactory(topic=topics["news"])],
        topics=[topics["news"]],
        status=Campaign.Status.SENDING,
        started_at=timezone.now(),
    )


def send_to(campaign, capture) -> None:
    with capture():
        delivery.prepare(campaign.pk)
    ids = list(Delivery.objects.filter(campaign=campaign).values_list("pk", flat=True))
    delivery.send_batch(ids)


def esp_event(sent: Delivery, kind: str) -> None:
    """An ESP reports `kind` for this delivery; stored and processed as the webhook does."""
    event = AnymailTrackingEvent(
        event_type=kind,
        event_id=str(uuid.uuid4()),
        message_id=sent.message_id,
        recipient=sent.subscriber.email if sent.subscriber else "",
        timestamp=timezone.now(),
        esp_event={},
    )
    webhook_event_process(event_id=webhook_event_store(esp="Postmark", event=event).pk)


@pytest.fixture
def sent_to(topics):
    def make(status=Status.ACTIVE, email=None):
        reader = ledger.subscriber(email, status=status)
        return ledger.delivery(
            ledger.campaign(topics["news"]), reader, message_id=f"<{uuid.uuid4()}>"
        )

    return make


# --- every path writes the list ----------------------------------------------------------------


def test_a_recipient_refused_at_send_time_is_listed_as_bounced(
    topics, campaign, sink, django_capture_on_commit_callbacks
):
    [refused] = [SubscriberFactory(active=True, topics=[topics["news"]])]
    sink.handler.refuse[refused.email] = "550 5.1.1 No such mailbox"
    send_to(campaign, django_capture_on_commit_callbacks)
    assert status_of(refused) == Status.BOUNCED
    assert reason_for(refused.email) == Reason.BOUNCED


class LeavesThenBounces(LocmemBackend):
    """The reader leaves (or complains) while their message is on its way; then it bounces."""

    leave_as = Status.UNSUBSCRIBED

    def send_messages(self, messages):
        for message in messages:
            Subscriber.objects.filter(email=message.to[0].rpartition("<")[2].rstrip(">")).update(
                status=self.leave_as
            )
        raise AnymailRecipientsRefused("550 5.1.1 No such mailbox")


@pytest.mark.parametrize("left_as", [Status.UNSUBSCRIBED, Status.COMPLAINED])
def test_a_bounce_at_send_time_keeps_the_status_of_someone_who_already_left(
    topics, campaign, settings, monkeypatch, django_capture_on_commit_callbacks, left_as
):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.LeavesThenBounces"}}
    monkeypatch.setattr(LeavesThenBounces, "leave_as", left_as)
    reader = SubscriberFactory(active=True, topics=[topics["news"]])
    send_to(campaign, django_capture_on_commit_callbacks)
    assert Delivery.objects.get(subscriber=reader).status == Delivery.Status.BOUNCED
    assert status_of(reader) == left_as
    assert reason_for(reader.email) == Reason.BOUNCED


@pytest.mark.parametrize(
    "kind, reason",
    [(EventType.BOUNCED, Reason.BOUNCED), (EventType.COMPLAINED, Reason.COMPLAINED)],
)
@pytest.mark.parametrize("status", [Status.PENDING, Status.ACTIVE])
def test_an_esp_bounce_or_complaint_lists_the_address_and_suppresses_the_reader(
    sent_to, kind, reason, status
):
    sent = sent_to(status)
    esp_event(sent, kind)
    assert reason_for(sent.subscriber.email) == reason
    assert status_of(sent.subscriber) == reason  # bounced / complained


@pytest.mark.parametrize("status", [Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED])
def test_an_esp_complaint_lists_the_address_whatever_the_readers_status_and_keeps_it(
    sent_to, status
):
    sent = sent_to(status)
    esp_event(sent, EventType.COMPLAINED)
    assert reason_for(sent.subscriber.email) == Reason.COMPLAINED
    assert status_of(sent.subscriber) == status


def test_an_esp_unsubscribe_is_listed_as_unsubscribed_by_mail(sent_to):
    sent = sent_to()
    esp_event(sent, EventType.UNSUBSCRIBED)
    assert status_of(sent.subscriber) == Status.UNSUBSCRIBED
    assert reason_for(sent.subscriber.email) == Reason.UNSUBSCRIBED


@pytest.mark.parametrize(
    "name, reason",
    [
        ("hard_bounce--postfix.txt", Reason.BOUNCED),
        ("complaint--yahoo.txt", Reason.COMPLAINED),
        ("unsubscribe--mailto.txt", Reason.UNSUBSCRIBED),
    ],
)
def test_mail_that_comes_back_lists_the_address_with_its_reason(sent_to, settings, name, reason):
    settings.BOUNCE_ADDRESS = BOUNCE_ADDRESS
    sent = sent_to(email="ann@example.org")
    receive(corpus(name, sent), source="test")
    assert reason_for("ann@example.org") == reason
    assert status_of(sent.subscriber) == reason


def test_the_strongest_reason_stays(sent_to):
    sent = sent_to()
    esp_event(sent, EventType.COMPLAINED)
    esp_event(sent, EventType.BOUNCED)
    esp_event(sent, EventType.UNSUBSCRIBED)
    assert reason_for(sent.subscriber.email) == Reason.COMPLAINED
    assert Suppression.objects.count() == 1


def test_engagement_events_never_move_someone_who_left(sent_to):
    for status in (Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED):
        sent = sent_to(status)
        for kind in (EventType.DELIVERED, EventType.OPENED, EventType.CLICKED, EventType.BOUNCED):
            esp_event(sent, kind)
        assert status_of(sent.subscriber) == status


def test_erasing_a_bounced_reader_keeps_the_bounce_as_the_reason(sent_to):
    sent = sent_to()
    esp_event(sent, EventType.BOUNCED)
    email = sent.subscriber.email
    subscriptions.erase(subscriber_id=sent.subscriber_id)
    assert reason_for(email) == Reason.BOUNCED


def test_erasing_a_reader_lists_the_address_as_erased(topics):
    reader = SubscriberFactory(active=True, topics=[topics["news"]])
    subscriptions.erase(subscriber_id=reader.pk)
    assert reason_for(reader.email) == Reason.ERASED


# --- the audience, the import and signup read it ----------------------------------------------


@pytest.mark.parametrize("reason", list(Reason))
def test_a_listed_address_is_not_mailed_even_when_the_reader_is_active(
    topics, campaign, reason, django_capture_on_commit_callbacks
):
    readers = [SubscriberFactory(active=True, topics=[topics["news"]]) for _ in range(3)]
    listed = readers[1]
    Suppression.objects.create(email_hash=suppression_hash(listed.email), reason=reason)
    send_to(campaign, django_capture_on_commit_callbacks)
    assert sorted(m.to[0].rpartition("<")[2].rstrip(">") for m in mail.outbox) == sorted(
        r.email for r in readers if r != listed
    )
    row = Delivery.objects.get(subscriber=listed)
    assert row.status == Delivery.Status.SKIPPED and "suppression list" in row.last_error


@pytest.mark.parametrize("reason", list(Reason))
def test_the_import_refuses_a_listed_address(tmp_path, topics, reason, capsys):
    Suppression.objects.create(email_hash=suppression_hash("gone@example.org"), reason=reason)
    path = tmp_path / "people.csv"
    path.write_text("email,consent,consent_at\ngone@example.org,yes,2026-01-01\n")
    call_command("import_subscribers", str(path), "--no-progress")
    said = capsys.readouterr().out
    assert "row 2: suppressed (bounced, complained, unsubscribed or erased)" in said
    assert not Subscriber.objects.exists()


def signup(email, capture) -> SignupRequest:
    with capture(execute=True):
        request = signups.signup_request(email=email, source="/join/")
    return request


def confirm(request) -> str:
    return signups.confirm(signup_id=request.pk)[0]


@pytest.mark.parametrize("reason", [Reason.BOUNCED, Reason.COMPLAINED])
def test_a_signup_never_gets_past_a_bounce_or_a_complaint(
    topics, django_capture_on_commit_callbacks, reason
):
    Suppression.objects.create(email_hash=suppression_hash("gone@example.org"), reason=reason)
    request = signup("gone@example.org", django_capture_on_commit_callbacks)
    assert mail.outbox == []  # no confirmation email
    # Even a link sent before the address was listed does not bring it back.
    assert confirm(request) == signups.Confirmation.GONE
    assert Subscriber.objects.get(email="gone@example.org").status == Status.PENDING
    assert reason_for("gone@example.org") == reason


@pytest.mark.parametrize("reason", [Reason.UNSUBSCRIBED, Reason.ERASED])
def test_a_fresh_confirmed_signup_lifts_an_unsubscription_by_mail_or_an_erasure(
    topics, django_capture_on_commit_callbacks, reason
):
    Suppression.objects.create(email_hash=suppression_hash("back@example.org"), reason=reason)
    request = signup("back@example.org", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1  # the confirmation
    assert reason_for("back@example.org") == reason  # until the owner confirms
    assert confirm(request) == signups.Confirmation.CONFIRMED
    assert Subscriber.objects.get(email="back@example.org").status == Status.ACTIVE
    assert reason_for("back@example.org") is None


def test_someone_who_unsubscribed_by_mail_comes_back_only_by_a_confirmed_signup(
    sent_to, topics, django_capture_on_commit_callbacks
):
    sent = sent_to(email="leaver@example.org")
    esp_event(sent, EventType.UNSUBSCRIBED)
    request = signup("leaver@example.org", django_capture_on_commit_callbacks)
    assert status_of(sent.subscriber) == Status.UNSUBSCRIBED  # a request proves nothing
    assert confirm(request) == signups.Confirmation.CONFIRMED
    assert status_of(sent.subscriber) == Status.ACTIVE
    assert reason_for("leaver@example.org") is None
