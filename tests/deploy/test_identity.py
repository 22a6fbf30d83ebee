"""With DEBUG off nothing starts as the demo charity: `check` (so `migrate` and `check --deploy`),
gunicorn, the worker and beat refuse, naming the variable to set."""

import os
import secrets
import subprocess
import sys

import pytest

from tests.dns_server import DnsServer, published
from tests.support import ROOT

IDENTITY = {
    "DEFAULT_FROM_EMAIL": "Brain Trust <news@braintrust.org.uk>",
    "ORGANISATION_NAME": "Brain Trust",
    "ORGANISATION_ADDRESS": "Brain Trust, 2 High Street, Leeds LS1 1AA, UK",
}
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "news.example.org",
    "SITE_URL": "https://news.example.org",
    "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"),
    "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",  # nothing listens: no task may run
    "EMAIL_URL": "smtp+tls://relay.example.org:587",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    **IDENTITY,
}
READ_BY_SETTINGS = {
    *PRODUCTION,
    "UNSUBSCRIBE_MAILTO",
    "LIST_ID",
    "CACHE_URL",
    "ENGAGE_VAR_DIR",
    "DNS_RESOLVER",
    "DKIM_SELECTOR",
}
CODES = {
    "DEFAULT_FROM_EMAIL": "engage.E001",
    "ORGANISATION_NAME": "engage.E002",
    "ORGANISATION_ADDRESS": "engage.E003",
    "UNSUBSCRIBE_MAILTO": "engage.E004",
}
DEMO = {
    "DEFAULT_FROM_EMAIL": "Engage <news@engage.example.org>",
    "ORGANISATION_NAME": "Engage Health Charity",
    "ORGANISATION_ADDRESS": "Engage Health Charity, 1 Example Street, London EC1A 1AA, UK",
    "UNSUBSCRIBE_MAILTO": "unsubscribe@engage.example.org",
}


def run(command: list[str], env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in READ_BY_SETTINGS}
    return subprocess.run(
        command,
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return run([sys.executable, "manage.py", *args], env)


def without(name: str) -> dict:
    return {k: v for k, v in PRODUCTION.items() if k != name}


def test_the_charitys_own_identity_passes_the_deploy_check(tmp_path):
    dns = DnsServer(published("braintrust.org.uk")).start()
    try:
        result = manage(
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
            env={
                **PRODUCTION,
                "ENGAGE_VAR_DIR": str(tmp_path),
                "DNS_RESOLVER": dns.address,
                "DKIM_SELECTOR": "engage",
            },
        )
    finally:
        dns.stop()
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "name", ["DEFAULT_FROM_EMAIL", "ORGANISATION_NAME", "ORGANISATION_ADDRESS"]
)
@pytest.mark.parametrize("how", ["unset", "demo"])
def test_check_and_the_deploy_check_name_each_missing_part_as_an_error(name, how):
    env = without(name) if how == "unset" else {**PRODUCTION, name: DEMO[name]}

    args = ["check"] if how == "unset" else ["check", "--deploy"]
    result = manage(*args, env=env)

    assert result.returncode != 0
    assert "SystemCheckError" in result.stderr
    assert f"{CODES[name]}) {name} is the demo charity's" in result.stderr


def test_a_release_stops_at_migrate():
    result = manage("migrate", "--check", env=without("ORGANISATION_NAME"))

    assert result.returncode != 0
    assert f"{CODES['ORGANISATION_NAME']}) ORGANISATION_NAME is the demo charity's" in result.stderr


def test_the_unsubscribe_mailbox_follows_the_from_domain_unless_it_is_the_demos():
    code = "from django.conf import settings; print(settings.UNSUBSCRIBE_MAILTO, settings.LIST_ID)"
    result = manage("shell", "-c", code, env=PRODUCTION)
    assert result.stdout.splitlines()[-1].split() == [
        "unsubscribe@braintrust.org.uk",
        "news.braintrust.org.uk",
    ]

    result = manage("check", env={**PRODUCTION, "UNSUBSCRIBE_MAILTO": DEMO["UNSUBSCRIBE_MAILTO"]})
    assert result.returncode != 0
    assert "engage.E004) UNSUBSCRIBE_MAILTO is the demo charity's" in result.stderr


def test_gunicorn_refuses_to_start_as_the_demo_charity():
    env = {**without("ORGANISATION_ADDRESS"), "WEB_CONCURRENCY": "1", "PORT": "0"}
    result = run([sys.executable, "-m", "gunicorn", "engage.wsgi"], env, timeout=120)

    assert result.returncode != 0
    assert "ORGANISATION_ADDRESS is the demo charity's" in result.stderr


@pytest.mark.parametrize("process", ["worker", "beat"])
def test_celery_refuses_to_start_as_the_demo_charity(process, tmp_path):
    env = {**without("DEFAULT_FROM_EMAIL"), "ENGAGE_VAR_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "celery", "-A", "engage", process, "--loglevel=INFO"]
    result = run(command, env, timeout=120)

    assert result.returncode != 0
    assert "DEFAULT_FROM_EMAIL is the demo charity's" in result.stdout + result.stderr


def test_the_local_run_keeps_the_demo_charity():
    env = {k: v for k, v in PRODUCTION.items() if k not in IDENTITY} | {"DEBUG": "true"}
    result = manage("check", env=env)
    assert result.returncode == 0, result.stderr
