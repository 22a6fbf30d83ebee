"""Whose address is it: X-Forwarded-For is believed only from TRUSTED_PROXIES, and the signup and
admin-login rate limits and the consent record all use the same answer."""

import os
import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory

from newsletter.models import SignupRequest
from newsletter.web.clientip import client_ip
from tests.support import ROOT

PROXY = "10.0.0.7"


def signup(client, email, *, forwarded_for=None, remote=PROXY):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post(
        "/api/subscribe/",
        {"email": email, "consent": True},
        content_type="application/json",
        headers=headers,
        REMOTE_ADDR=remote,
    )


def ip_of(forwarded_for, *, remote=PROXY):
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded_for)
    return client_ip(request)


def test_without_trusted_proxies_the_header_is_ignored(client, topics, settings):
    settings.TRUSTED_PROXIES = []
    settings.SIGNUP_RATE = "2/m"

    statuses = [
        signup(client, f"p{i}@example.org", forwarded_for=f"203.0.113.{i}").status_code
        for i in range(3)
    ]

    assert statuses == [202, 202, 429]  # one bucket: the claimed addresses changed nothing
    assert set(SignupRequest.objects.values_list("ip", flat=True)) == {PROXY}


def test_behind_a_trusted_proxy_each_visitor_has_their_own_bucket_and_record(
    client, topics, settings
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.SIGNUP_RATE = "2/m"

    first = [signup(client, f"a{i}@example.org", forwarded_for="203.0.113.1") for i in range(3)]
    other = signup(client, "b@example.org", forwarded_for="203.0.113.2")

    assert [r.status_code for r in first] == [202, 202, 429]
    assert other.status_code == 202
    assert SignupRequest.objects.get(email="b@example.org").ip == "203.0.113.2"


def test_a_client_cannot_choose_its_address_through_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    # The client sent "X-Forwarded-For: 1.2.3.4"; our proxies appended what they saw.
    assert ip_of("1.2.3.4, 203.0.113.9") == "203.0.113.9"
    assert ip_of("1.2.3.4, 203.0.113.9, 10.0.0.3") == "203.0.113.9"  # two of our proxies
    assert ip_of("nonsense, 203.0.113.9") == "203.0.113.9"
    assert ip_of("") == PROXY


def test_a_peer_that_is_not_a_trusted_proxy_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert ip_of("203.0.113.9", remote="198.51.100.4") == "198.51.100.4"


def test_a_platform_router_of_unknown_address_is_trusted_for_its_own_hop_only(settings):
    settings.TRUSTED_PROXIES = ["*"]

    assert ip_of("1.2.3.4, 203.0.113.9", remote="172.16.5.5") == "203.0.113.9"
    assert ip_of("2001:db8::1", remote="172.16.5.5") == "2001:db8::1"


def test_the_admin_login_limit_counts_per_forwarded_client(client, settings, db):
    settings.TRUSTED_PROXIES = [PROXY]
    settings.ADMIN_LOGIN_RATE = "2/m"
    User.objects.create_user("sam", "sam@example.org", "a-long-pass-phrase", is_staff=True)

    def attempt(address):
        return client.post(
            "/admin/login/",
            {"username": "sam", "password": "wrong"},
            headers={"X-Forwarded-For": address},
            REMOTE_ADDR=PROXY,
        ).status_code

    assert [attempt("203.0.113.1") for _ in range(3)] == [200, 200, 429]
    assert attempt("203.0.113.2") == 200


def _setting(name, **env):
    base = {k: v for k, v in os.environ.items() if k != "TRUSTED_PROXIES"}
    return subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            f"from django.conf import settings; print(settings.{name})",
        ],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
    )


def test_the_forwarded_scheme_is_believed_only_behind_trusted_proxies():
    direct = _setting("SECURE_PROXY_SSL_HEADER")
    proxied = _setting("SECURE_PROXY_SSL_HEADER", TRUSTED_PROXIES="10.0.0.0/8")

    assert direct.stdout.strip().splitlines()[-1] == "None"
    assert proxied.stdout.strip().splitlines()[-1] == "('HTTP_X_FORWARDED_PROTO', 'https')"


@pytest.mark.parametrize("value", ["10.0.0.300", "10.0.0.1/8", "proxy.internal"])
def test_a_trusted_proxy_that_is_not_an_address_is_refused(value):
    result = _setting("TRUSTED_PROXIES", TRUSTED_PROXIES=value)

    assert result.returncode != 0
    assert f"TRUSTED_PROXIES: {value!r}" in result.stderr
