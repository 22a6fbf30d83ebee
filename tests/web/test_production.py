"""A production deployment as README's "Running in production" documents it: it starts first time,
and `check --deploy` passes, or names what is missing."""

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tests.dns_server import DnsServer, published
from tests.support import ROOT, free_port, wait_until

# README's list, with this machine's PostgreSQL and Redis (the check does not connect to them).
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "news.example.org",
    "SITE_URL": "https://news.example.org",
    "DATABASE_URL": os.environ["DATABASE_URL"],
    "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
    "EMAIL_URL": "smtp+tls://engage:secret@relay.example.org:587",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "TRUSTED_PROXIES": "10.0.0.0/8",
    # The charity's identity: with DEBUG off nothing starts with the demo's (engage/identity.py).
    "DEFAULT_FROM_EMAIL": "Your Charity <news@your-charity.org.uk>",
    "ORGANISATION_NAME": "Your Charity",
    "ORGANISATION_ADDRESS": "Your Charity, 2 High Street, Leeds LS1 1AA, UK",
}
# Everything the settings read that the test run itself may have set.
SETTINGS_VARIABLES = {*PRODUCTION_ENV, "CACHE_URL", "ESP", "STATIC_ROOT", "ENGAGE_VAR_DIR"}


@pytest.fixture(scope="module", autouse=True)
def charity_dns():
    """The charity's domain publishes SPF, DKIM and DMARC, as the deploy check asks (engage.W020),
    on a DNS server on loopback."""
    server = DnsServer(published("your-charity.org.uk")).start()
    PRODUCTION_ENV.update(DNS_RESOLVER=server.address, DKIM_SELECTOR="engage")
    yield server
    server.stop()


def manage(*args, env: dict, timeout: int = 120) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def deploy_check(env: dict) -> subprocess.CompletedProcess:
    return manage("check", "--deploy", "--fail-level", "WARNING", env=env)


def test_the_documented_production_settings_pass_the_deploy_check():
    result = deploy_check(PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deploy_check_passes_without_cache_url_too():
    result = deploy_check({k: v for k, v in PRODUCTION_ENV.items() if k != "CACHE_URL"})

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"DEBUG": "true"}, "security.W018"),
        ({"SECURE_HSTS_SECONDS": None}, "security.W004"),
        ({"SECURE_SSL_REDIRECT": None}, "security.W008"),
        ({"SECRET_KEY": "short"}, "security.W009"),
        ({"SITE_URL": None}, "engage.W001"),
        ({"ALLOWED_HOSTS": None}, "engage.W002"),
        ({"DATABASE_URL": None}, "engage.W003"),
        ({"CELERY_BROKER_URL": None}, "engage.W004"),
        ({"EMAIL_URL": None}, "engage.W005"),
        ({"CACHE_URL": "locmemcache://"}, "django_ratelimit.E003"),
    ],
)
def test_the_deploy_check_names_each_missing_setting(change, reason, tmp_path):
    env = {**PRODUCTION_ENV, **change, "ENGAGE_VAR_DIR": str(tmp_path)}
    env = {k: v for k, v in env.items() if v is not None}

    result = deploy_check(env)

    assert result.returncode != 0
    assert reason in result.stdout + result.stderr


@pytest.mark.parametrize("debug", [None, "true"])
def test_nothing_starts_without_a_secret_key(debug):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    if debug:
        env["DEBUG"] = debug

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "Set the SECRET_KEY environment variable" in result.stderr


def test_debug_is_off_unless_set():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DEBUG"}

    result = manage(
        "shell", "-c", "from django.conf import settings; print(settings.DEBUG)", env=env
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_compose_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update({k: v for k, v in PRODUCTION_ENV.items() if k.startswith(("DEFAULT", "ORGAN"))})

    result = subprocess.run(
        ["docker-compose", "config"], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_no_key_is_published_in_the_deployment_files():
    for name in ("Dockerfile", "docker-compose.yml", "Procfile", "Procfile.dev", "Makefile"):
        text = (ROOT / name).read_text()
        assert not re.search(r"SECRET_KEY[=:]\s*['\"]?[\w-]{8,}", text), name


def test_the_docker_image_refuses_to_start_without_a_secret_key():
    dockerfile = (ROOT / "Dockerfile").read_text()
    command = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE).group(1))
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}

    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)

    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


# --- The production start without CACHE_URL ----------------------------------------------------


@pytest.fixture
def fresh_database():
    """An empty PostgreSQL database of the test's own, as on a deployment's first day."""
    name = f"{settings.DATABASES['default']['NAME']}_first_start"
    admin_url = re.sub(r"/[^/]*$", "/postgres", PRODUCTION_ENV["DATABASE_URL"])
    admin_url = admin_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield re.sub(r"/[^/]*$", f"/{name}", PRODUCTION_ENV["DATABASE_URL"])
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _procfile_command(process: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name == process:
            return command.strip()
    raise AssertionError(f"no {process} in Procfile")


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _subscribe(url: str, email: str) -> int:
    request = urllib.request.Request(
        f"{url}/api/subscribe/",
        data=json.dumps({"email": email, "consent": True}).encode(),
        headers={"Content-Type": "application/json"},
    )
    return _get(request)[0]


@pytest.mark.timeout(240)
def test_the_procfile_web_process_starts_first_time_without_cache_url(fresh_database):
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **{k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES},
            **PRODUCTION_ENV,
            "DATABASE_URL": fresh_database,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "SECURE_SSL_REDIRECT": "false",
            "STATIC_ROOT": str(Path(scratch) / "static"),
            "ENGAGE_VAR_DIR": str(Path(scratch) / "var"),
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "SIGNUP_RATE": "2/m",
            "CELERY_QUEUE": f"first-start-{port}",  # no worker here: its tasks wait, unread
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        }
        # The README's release step, then the Procfile's web process.
        for step in (["migrate", "--noinput"], ["collectstatic", "--noinput", "-v", "0"]):
            subprocess.run([sys.executable, "manage.py", *step], cwd=ROOT, env=env, check=True)
        web = subprocess.Popen(
            ["sh", "-c", _procfile_command("web")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:

            def answers():
                assert web.poll() is None, web.stdout.read().decode(errors="replace")[-3000:]
                try:
                    return _get(f"{base}/join/")[0] == 200
                except OSError:
                    return False

            wait_until(answers, timeout=180, message="the web process to answer")
            status, page = _get(f"{base}/join/")
            stylesheet = re.search(rb'href="(/static/site\.[0-9a-f]+\.css)"', page)
            css_status = _get(f"{base}{stylesheet.group(1).decode()}")[0] if stylesheet else None
            statuses = [_subscribe(base, f"reader{i}@example.org") for i in range(3)]
        finally:
            os.killpg(web.pid, signal.SIGTERM)
            web.wait(30)

        assert status == 200
        assert stylesheet, "the page links the collected, hashed stylesheet"
        assert css_status == 200  # served by whitenoise
        assert statuses == [202, 202, 429]  # the rate limit counts in the database cache


@pytest.mark.django_db(transaction=True)
def test_the_database_cache_loses_no_increment_under_concurrency():
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from engage.cache import AtomicDatabaseCache

    cache = AtomicDatabaseCache("engage_cache", {})
    cache.add("signups", 0)

    def increments(_):
        try:
            for _ in range(25):
                cache.incr("signups")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(increments, range(8)))

    assert cache.get("signups") == 200
