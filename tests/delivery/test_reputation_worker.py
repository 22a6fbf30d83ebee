"""The reputation watch with real workers, the SMTP sink and the real inbound door: complaints
about the first messages come back by mail (ARF reports piped to `manage.py process_inbound`, as
an MTA delivers them) while the campaign is still sending, and it pauses itself.

SEND_RATE_PER_SECOND=50 (production: unlimited over SMTP) so that the campaign is still sending
when the first complaints come back; every threshold and window is at its production default.
"""

import collections
import itertools
import os
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes

import pytest
from django.contrib.auth.models import Permission, User

from newsletter import delivery
from newsletter.models import Campaign, Delivery
from tests.campaign_runs import audience, due_campaign, per_recipient, tick_until_sent
from tests.inbound_mail import BOUNCE_ADDRESS, CORPUS
from tests.support import ROOT, SinkHandler, SmtpSink, database_url, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

READERS = 2000


def complaint_about(received: bytes, envelope_from: str, recipient: str) -> bytes:
    """A mailbox provider's abuse report (ARF) about one message the sink received, sent back to
    the message's envelope sender (its VERP bounce address)."""
    message_id = message_from_bytes(received)["Message-ID"].strip("<>")
    text = (CORPUS / "complaint--yahoo.txt").read_text()
    for placeholder, value in (
        ("@@TO@@", envelope_from),
        ("@@RETURN_PATH@@", envelope_from),
        ("@@RECIPIENT@@", recipient),
        ("@@MESSAGE_ID@@", message_id),
        ("1764507600.5678@arf.mail.yahoo.com", f"{uuid.uuid4().hex}@arf.mail.yahoo.com"),
    ):
        text = text.replace(placeholder, value)
    return text.replace("\n", "\r\n").encode()


@dataclass
class ComplainingSink(SinkHandler):
    """Accepts everything; for the 50th, 150th … 450th message it accepts (1% of the first 500),
    the reader complains: the report goes through the real door in a process of its own."""

    env: dict = field(default_factory=dict)
    seen: itertools.count = field(default_factory=lambda: itertools.count(1))
    complaints: list[subprocess.CompletedProcess] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        n = next(self.seen)
        if n <= 500 and n % 100 == 50:
            report = complaint_about(
                envelope.original_content, envelope.mail_from, envelope.rcpt_tos[0]
            )
            threading.Thread(target=self.complain, args=(report,), daemon=True).start()
        return answer

    def complain(self, report: bytes) -> None:
        done = subprocess.run(
            [sys.executable, "manage.py", "process_inbound"],
            input=report,
            capture_output=True,
            cwd=ROOT,
            env=self.env,
            timeout=120,
            check=False,
        )
        with self.lock:
            self.complaints.append(done)


def sender_client(client):
    user = User.objects.create_user("sam", "sam@charity.example.org", "pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["send_campaign", "view_campaign"])
    )
    client.force_login(user)
    return user


@pytest.mark.timeout(400)
def test_complaints_from_1_percent_of_the_first_500_pause_it_before_1000_and_no_one_gets_two(
    topics, start_worker, own_queue, client
):
    handler = ComplainingSink()
    own = SmtpSink(handler).start()
    mail_env = {"BOUNCE_ADDRESS": BOUNCE_ADDRESS, "EMAIL_URL": own.url}
    handler.env = {
        **os.environ,
        **mail_env,
        "DJANGO_SETTINGS_MODULE": "engage.settings",
        "DATABASE_URL": database_url(),
    }
    start_worker(
        email_url=own.url, extra_env={**own_queue, **mail_env, "SEND_RATE_PER_SECOND": "50"}
    )
    sender = sender_client(client)
    people = audience(topics, READERS)
    readers = {person.email for person in people}
    campaign = due_campaign(topics)

    try:
        assert delivery.start_due_campaigns() == 1

        def paused():
            campaign.refresh_from_db()
            return campaign.status == Campaign.Status.PAUSED

        wait_until(paused, 120, interval=0.2, message="the campaign to pause itself")
        # What was in flight when it paused settles within a status check.
        wait_until(
            lambda: (
                not Delivery.objects.filter(
                    campaign=campaign, status=Delivery.Status.SENDING
                ).exists()
            ),
            60,
            message="the batches to stop",
        )
        sent_before_resume = Delivery.objects.filter(
            campaign=campaign, status=Delivery.Status.SENT
        ).count()
        assert 500 <= sent_before_resume < 1000
        assert len([r for r in own.received if set(r.rcpt_tos) <= readers]) < 1000
        # Every complaint recorded before the sender looks (late ones are not counted again).
        wait_until(lambda: len(handler.complaints) == 5, 120, message="the five complaints")
        assert all(done.returncode == 0 for done in handler.complaints), [
            done.stderr.decode() for done in handler.complaints
        ]

        page = client.get(f"/admin/newsletter/campaign/{campaign.pk}/change/").content.decode()
        assert "Paused automatically to protect the sender&#x27;s reputation" in page
        assert "complaints (marked as spam):" in page and "the limit is 0.30%" in page
        wait_until(
            lambda: any(sender.email in r.rcpt_tos for r in own.received),
            60,
            message="the sender to be told",
        )

        resumed = client.post(f"/admin/newsletter/campaign/{campaign.pk}/do/resume/")
        assert resumed.status_code == 302
        tick_until_sent(campaign, timeout=240)
    finally:
        own.stop()

    to_readers = per_recipient(r for r in own.received if set(r.rcpt_tos) <= readers)
    # Nobody got two copies, and everyone got theirs (a complainer got theirs before complaining).
    assert to_readers == collections.Counter(dict.fromkeys(readers, 1))
    assert Delivery.objects.filter(campaign=campaign, complained_at__isnull=False).count() == 5
