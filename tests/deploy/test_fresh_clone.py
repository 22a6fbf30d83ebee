"""The README's "plain VM" deployment, followed word for word on a fresh clone: its release
commands, its first staff account, `honcho start -f Procfile`; then a reader signs up and
confirms, and a campaign scheduled for now reaches an SMTP server on loopback as the charity."""

import html
import re
import time
from base64 import b32decode
from urllib.parse import parse_qs, urlsplit

import pytest
from django_otp.oath import totp

from tests.deploy import readme
from tests.deploy.deployment import Deployment
from tests.deploy.webclient import WebClient
from tests.support import wait_until

pytestmark = pytest.mark.timeout(1500)

READER = "first.reader@example.net"
LINKS: list[str] = []  # every link with a token the reader followed
CAMPAIGN = """
from django.utils import timezone
from newsletter.campaigns.scheduling import campaign_schedule
from newsletter.models import Campaign, CampaignPost, Post, Topic

news = Topic.objects.get(slug="news")
post = Post.objects.create(
    kind=Post.Kind.NEWS, title="Our first walk", slug="our-first-walk", summary="We walked.",
    body="Thank you to everyone who came.", url="https://www.your-charity.org.uk/walk/",
    topic=news, status=Post.Status.PUBLISHED, published_at=timezone.now(),
)
campaign = Campaign.objects.create(
    subject="Our first news", slug="our-first-news", track_clicks=True
)
campaign.topics.set([news])
CampaignPost.objects.create(campaign=campaign, post=post, position=0)
campaign_schedule(campaign=campaign)
print("scheduled", campaign.pk)
"""


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, smtp_sink):
    smtp_sink.reset()
    site = Deployment(tmp_path_factory.mktemp("vm"), email_url=smtp_sink.url)
    site.prepare()
    *release, start = readme.commands()
    try:
        for line in release:
            site.run(line)
        site.start(start)
        site.wait_until_healthy(WebClient(site.base))
        yield site
    finally:
        site.stop()


def messages_to(sink, address: str) -> list:
    return [r for r in sink.received if address in r.rcpt_tos]


def _link(message, pattern: str) -> str:
    """The first link containing `pattern`, from the text part or else the HTML part."""
    for part in ("plain", "html"):
        text = message.message.get_body((part,)).get_content()
        found = re.search(rf"https?://[^\s\"'<>]*{pattern}[^\s\"'<>]*", text)
        if found:
            return html.unescape(found.group(0)).rstrip(").,")
    raise AssertionError(f"no link with {pattern}")


def test_the_readme_lists_the_start_command_last_and_honcho_reads_dot_env():
    *release, start = readme.commands()
    assert start == ".venv/bin/honcho start -f Procfile"
    assert any("manage.py migrate" in line for line in release)


def test_web_worker_and_beat_all_run_a_minute_later(deployment):
    client = WebClient(deployment.base)
    remaining = 60 - (time.monotonic() - deployment.started_at)
    if remaining > 0:
        time.sleep(remaining)

    assert deployment.running() == {"web", "worker", "beat"}, deployment.output()[-5000:]
    status, _, body = client.get("/healthz")
    assert status == 200, body
    assert '"beat": "ok"' in body


def test_a_reader_signs_up_and_a_scheduled_campaign_reaches_smtp_as_the_charity(
    deployment, smtp_sink
):
    client = WebClient(deployment.base)
    identity = readme.environment()
    payload = {"email": READER, "consent": True, "topics": ["news"], "allow_tracking": True}
    assert client.post_json("/api/subscribe/", payload)[0] == 202

    wait_until(lambda: messages_to(smtp_sink, READER), 120, message="the confirmation email")
    confirmation = messages_to(smtp_sink, READER)[0]
    assert confirmation.message["From"] == identity["DEFAULT_FROM_EMAIL"]
    link = _link(confirmation, "/confirm/")
    assert link.startswith(deployment.base)
    status, _, page = client.post_form(link, {})
    assert status == 200, page

    scheduled_at = time.monotonic()
    deployment.manage("shell", "-c", CAMPAIGN)
    # Beat's tick (every minute) starts it; the worker sends it.
    wait_until(
        lambda: len(messages_to(smtp_sink, READER)) >= 2,
        240,
        interval=1,
        message="the campaign " + deployment.output()[-3000:],
    )
    campaign = messages_to(smtp_sink, READER)[1]

    assert campaign.message["Subject"] == "Our first news"
    assert campaign.message["From"] == identity["DEFAULT_FROM_EMAIL"]
    text = campaign.message.get_body(("plain",)).get_content()
    assert identity["ORGANISATION_ADDRESS"] in text
    assert "example.org" not in campaign.message["List-Unsubscribe"]
    assert "your-charity.org.uk" in campaign.message["List-Unsubscribe"]
    assert time.monotonic() - scheduled_at < 180

    # The reader clicks, follows a damaged link, unsubscribes in one click and erases their data.
    click = _link(campaign, "/t/c/")
    assert client.get(click)[0] == 302
    preferences = _link(campaign, "/preferences/")
    assert client.get(preferences.rstrip("/") + "x/")[0] == 400
    unsubscribe = re.search(r"<(http[^>]+)>", campaign.message["List-Unsubscribe"]).group(1)
    assert client.request("POST", unsubscribe, data=b"List-Unsubscribe=One-Click")[0] == 200
    status, _, page = client.post_form(preferences, {"action": "erase-confirmed"})
    assert status == 200, page
    LINKS.extend([link, click, preferences, unsubscribe])


def test_the_first_staff_account_signs_in_with_the_printed_secret(deployment):
    line = next(line for line in readme.commands() if "create_staff" in line)
    printed = deployment.outputs[line]
    password = re.search(r"password: (\S+)", printed).group(1)
    uri = re.search(r"otpauth://\S+", printed).group(0)
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    assert "█" in printed  # the QR code, drawn in the terminal
    assert len(re.findall(r"^  [a-z0-9]{8}$", printed, re.MULTILINE)) == 10  # recovery codes
    assert "/admin/" in printed and "enrol_2fa" in printed  # what to do next

    client = WebClient(deployment.base)
    code = totp(b32decode(secret + "=" * (-len(secret) % 8)))
    fields = {"username": "alice", "password": password, "otp_token": f"{code:06d}"}
    status, headers, page = client.post_form("/admin/login/?next=/admin/", fields)

    assert status == 302, page[-2000:]
    status, _, page = client.get("/admin/")
    assert status == 200
    assert "Site administration" in page or "alice" in page
    # A search for a reader's address: the address must not reach the logs.
    assert client.get(f"/admin/newsletter/subscriber/?q={READER}")[0] == 200


def test_the_logs_hold_no_token_and_no_address(deployment):
    assert LINKS, "the reader's journey ran first"
    tokens = {
        re.search(r"/(?:confirm|preferences|unsubscribe|t/c)/([^/]+)/", link).group(1)
        for link in LINKS
    }
    time.sleep(2)  # the last lines reach honcho's log
    log = deployment.output()

    assert "[redacted]" in log  # the access log recorded the reader's requests
    for token in tokens:
        assert token not in log
    assert READER not in log and READER.replace("@", "%40") not in log
    assert "alice@your-charity.org.uk" not in log
