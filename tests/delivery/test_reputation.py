"""The reputation watch: a sending campaign pauses itself past the complaint and bounce rates
mailbox providers enforce, tells the staff who may send, and goes on only when one resumes it.

In-process (eager tasks); the same with real workers and the SMTP sink is in
test_reputation_worker.py."""

import pytest
from django.core import mail
from django.test import Client

from newsletter.delivery import reputation
from newsletter.inbound.receive import receive
from newsletter.models import AuditEvent, Campaign
from tests import ledger
from tests.factories import staff_member
from tests.inbound.test_webhooks import WEBHOOK_SECRET, post_postmark, postmark_complaint
from tests.inbound_mail import BOUNCE_ADDRESS, corpus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _verp(settings):
    settings.BOUNCE_ADDRESS = BOUNCE_ADDRESS


@pytest.fixture
def sending(topics):
    return ledger.campaign(topics["news"], status=Campaign.Status.SENDING, subject="Spring issue")


def sent_to(campaign, n: int):
    return [ledger.delivery(campaign, ledger.subscriber()) for _ in range(n)]


def test_the_defaults_are_the_rates_mailbox_providers_enforce(settings):
    assert settings.REPUTATION_COMPLAINT_RATE == 0.003
    assert settings.REPUTATION_HARD_BOUNCE_RATE == 0.05
    assert settings.REPUTATION_REJECTION_RATE == 0.01


def test_nothing_is_judged_before_the_minimum_has_gone_out(settings):
    settings.REPUTATION_MIN_SENT = 500
    assert reputation.breach(reputation.Figures(sent=499, complained=10)) == ""
    reason = reputation.breach(reputation.Figures(sent=500, complained=2))
    assert "complaints (marked as spam): 2 of 500 sent (0.40%; the limit is 0.30%)" in reason


def test_each_rate_has_its_own_threshold():
    assert reputation.breach(reputation.Figures(sent=1000, complained=3)) == ""  # 0.3%: at it
    assert reputation.breach(reputation.Figures(sent=1000, bounced=50)) == ""
    assert "hard bounces" in reputation.breach(reputation.Figures(sent=1000, bounced=51))
    assert reputation.breach(reputation.Figures(sent=1000, rejected=10)) == ""
    rejected = reputation.breach(reputation.Figures(sent=1000, rejected=11))
    assert "refusals of our sending" in rejected


def test_counts_add_up_within_the_window_and_a_resume_starts_afresh(sending):
    reputation.count(sending.pk, reputation.SENT, 300)
    reputation.count(sending.pk, reputation.SENT, 200)
    reputation.count(sending.pk, reputation.COMPLAINED)
    assert reputation.figures(sending.pk) == reputation.Figures(sent=500, complained=1)
    reputation.forget(sending.pk)
    assert reputation.figures(sending.pk) == reputation.Figures(sent=0)


def test_the_window_rolls_old_counts_out(sending, settings, time_machine):
    settings.REPUTATION_WINDOW_SECONDS = 1200  # buckets of 100 s
    time_machine.move_to("2026-12-07 10:00:00Z", tick=False)
    reputation.count(sending.pk, reputation.COMPLAINED, 5)
    time_machine.move_to("2026-12-07 10:15:00Z", tick=False)
    reputation.count(sending.pk, reputation.SENT, 600)
    time_machine.move_to("2026-12-07 10:21:00Z", tick=False)
    assert reputation.figures(sending.pk) == reputation.Figures(sent=600)


def test_complaints_by_mail_pause_the_campaign_with_the_figures_and_tell_senders(
    sending, django_capture_on_commit_callbacks
):
    sender = staff_member("sender")
    staff_member("editor")
    deliveries = sent_to(sending, 3)
    reputation.count(sending.pk, reputation.SENT, 600)

    with django_capture_on_commit_callbacks(execute=True):
        receive(corpus("complaint--yahoo.txt", deliveries[0]), source="test")
    sending.refresh_from_db()
    assert sending.status == Campaign.Status.SENDING  # 1 of 600: 0.17%

    with django_capture_on_commit_callbacks(execute=True):
        receive(corpus("complaint--outlook-jmrp.txt", deliveries[1]), source="test")
    sending.refresh_from_db()
    assert sending.status == Campaign.Status.PAUSED
    assert "complaints (marked as spam): 2 of 600 sent (0.33%" in sending.pause_reason

    event = AuditEvent.objects.get(action="campaign paused automatically")
    assert event.target == f"campaign #{sending.pk}"
    assert event.details["complained"] == 2 and event.details["sent"] == 600

    assert [m.to for m in mail.outbox] == [[sender.email]]  # the sender, not the editor
    told = mail.outbox[0]
    assert told.subject == "Paused: Spring issue"
    assert "2 of 600 sent" in told.body
    assert f"/admin/newsletter/campaign/{sending.pk}/change/" in told.body

    # A third complaint finds it paused already: no second email.
    with django_capture_on_commit_callbacks(execute=True):
        receive(corpus("complaint--yahoo.txt", deliveries[2]), source="test")
    assert len(mail.outbox) == 1


def test_hard_bounces_by_mail_count_against_the_campaign(
    sending, settings, django_capture_on_commit_callbacks
):
    settings.REPUTATION_MIN_SENT = 20
    deliveries = sent_to(sending, 2)
    reputation.count(sending.pk, reputation.SENT, 20)
    for delivery, report in zip(deliveries, ["postfix", "exim"], strict=True):
        with django_capture_on_commit_callbacks(execute=True):
            receive(corpus(f"hard_bounce--{report}.txt", delivery), source="test")
    sending.refresh_from_db()
    assert sending.status == Campaign.Status.PAUSED
    assert "hard bounces (addresses that do not exist): 2 of 20 sent (10.00%" in (
        sending.pause_reason
    )


def test_the_page_shows_why_and_only_a_sender_resumes_it(
    sending, client, django_capture_on_commit_callbacks
):
    reputation.count(sending.pk, reputation.SENT, 500)
    reputation.count(sending.pk, reputation.COMPLAINED, 3)
    assert reputation.watch(sending.pk)
    editor = staff_member("editor")
    client.force_login(editor)
    page = client.get(f"/admin/newsletter/campaign/{sending.pk}/change/").content.decode()
    assert "Paused automatically to protect the sender&#x27;s reputation" in page
    assert "3 of 500 sent (0.60%; the limit is 0.30%)" in page

    refused = client.post(f"/admin/newsletter/campaign/{sending.pk}/do/resume/")
    sending.refresh_from_db()
    assert refused.status_code == 403 and sending.status == Campaign.Status.PAUSED

    client.force_login(staff_member("sender"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/newsletter/campaign/{sending.pk}/do/resume/")
    sending.refresh_from_db()
    assert sending.status == Campaign.Status.SENDING and sending.pause_reason == ""
    # The figures that paused it were seen: the watch judges afresh from here.
    assert reputation.figures(sending.pk).complained == 0
    assert not reputation.watch(sending.pk)


def test_the_watch_can_be_switched_off(sending, settings):
    settings.REPUTATION_WATCH = False
    reputation.count(sending.pk, reputation.SENT, 500)
    reputation.count(sending.pk, reputation.COMPLAINED, 50)
    assert not reputation.watch(sending.pk)


def test_what_comes_back_later_about_mail_sent_before_a_resume_is_not_counted_again(
    sending, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to("2026-12-07 10:00:00Z", tick=False)
    earlier = sent_to(sending, 1)[0]
    time_machine.move_to("2026-12-07 10:05:00Z", tick=False)
    reputation.forget(sending.pk)  # a sender resumed it
    later = sent_to(sending, 1)[0]
    with django_capture_on_commit_callbacks(execute=True):
        receive(corpus("complaint--yahoo.txt", earlier), source="test")
    assert reputation.figures(sending.pk).complained == 0
    with django_capture_on_commit_callbacks(execute=True):
        receive(corpus("complaint--outlook-jmrp.txt", later), source="test")
    assert reputation.figures(sending.pk).complained == 1


def test_a_complaint_through_an_esp_webhook_counts_too(
    sending, settings, django_capture_on_commit_callbacks
):
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}
    delivery = sent_to(sending, 1)[0]
    reputation.count(sending.pk, reputation.SENT, 500)
    reputation.count(sending.pk, reputation.COMPLAINED, 1)
    with django_capture_on_commit_callbacks(execute=True):
        answer = post_postmark(
            Client(enforce_csrf_checks=True),
            postmark_complaint(delivery.message_id, delivery.subscriber.email),
        )
    assert answer.status_code == 200
    sending.refresh_from_db()
    assert reputation.figures(sending.pk).complained == 2
    assert sending.status == Campaign.Status.PAUSED
