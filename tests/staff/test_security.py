import os
import secrets
import subprocess
import sys

import pytest
import time_machine
from django.contrib.auth.models import Group, User

from tests.dns_server import DnsServer, published
from tests.support import ROOT

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "news.example.org",
    "SITE_URL": "https://news.example.org",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_SSL_REDIRECT": "true",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "EMAIL_URL": "smtp+tls://relay.example.org:587",
    # The charity's identity: with DEBUG off nothing starts with the demo's (engage/identity.py).
    "DEFAULT_FROM_EMAIL": "Your Charity <news@your-charity.org.uk>",
    "ORGANISATION_NAME": "Your Charity",
    "ORGANISATION_ADDRESS": "Your Charity, 2 High Street, Leeds LS1 1AA, UK",
}


def _manage(*args, env):
    environ = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_deploy_check_is_clean_with_production_settings():
    # The charity's domain publishes SPF, DKIM and DMARC (engage.W020), on a DNS server on loopback.
    dns = DnsServer(published("your-charity.org.uk")).start()
    try:
        env = {**PRODUCTION_ENV, "DNS_RESOLVER": dns.address, "DKIM_SELECTOR": "engage"}
        result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    finally:
        dns.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_a_per_process_cache_for_rate_limits():
    env = {**PRODUCTION_ENV, "CACHE_URL": "locmemcache://"}
    result = _manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "django_ratelimit" in result.stderr + result.stdout


def test_pages_carry_security_headers(client, db):
    response = client.get("/healthz")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_hsts_is_sent_over_https_when_configured(client, db, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    response = client.get("/healthz", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=3600")


@pytest.fixture
def staff_user(db):
    return User.objects.create_user("sam", "sam@example.org", "a-long-pass-phrase", is_staff=True)


def test_admin_login_is_rate_limited_per_address(client, staff_user, settings):
    settings.ADMIN_LOGIN_RATE = "3/m"
    # The limit counts per clock minute: on a busy machine six password hashes can straddle one.
    with time_machine.travel("2026-06-01 12:00:05+00:00", tick=False):
        statuses = [
            client.post("/admin/login/", {"username": "sam", "password": "wrong"}).status_code
            for _ in range(5)
        ]
        throttled = client.post(
            "/admin/login/", {"username": "sam", "password": "a-long-pass-phrase"}
        )
    assert statuses == [200, 200, 200, 429, 429]
    assert throttled.status_code == 429
    assert b"Too many sign-in attempts" in throttled.content
    assert "_auth_user_id" not in client.session


def test_admin_login_still_works_under_the_limit(client, staff_user):
    response = client.post("/admin/login/", {"username": "sam", "password": "a-long-pass-phrase"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff_user.pk)


def test_only_senders_may_send_campaigns(db):
    editor = User.objects.create_user("ed", is_staff=True)
    editor.groups.add(Group.objects.get(name="editor"))
    sender = User.objects.create_user("sue", is_staff=True)
    sender.groups.add(Group.objects.get(name="sender"))
    assert editor.has_perm("newsletter.add_post")
    assert editor.has_perm("newsletter.change_campaign")
    assert not editor.has_perm("newsletter.send_campaign")
    assert sender.has_perm("newsletter.send_campaign")
