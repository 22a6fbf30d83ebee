import os
import subprocess

import yaml

from tests.support import ROOT

# What compose refuses to start without (docker-compose.yml).
REQUIRED = {
    "SECRET_KEY": "compose-config-check-only-" + "k" * 30,
    "DEFAULT_FROM_EMAIL": "Your Charity <news@your-charity.org.uk>",
    "ORGANISATION_NAME": "Your Charity",
    "ORGANISATION_ADDRESS": "Your Charity, 2 High Street, Leeds LS1 1AA, UK",
}


def _config() -> dict:
    result = subprocess.run(
        ["docker-compose", "config"],
        cwd=ROOT,
        env={**os.environ, **REQUIRED},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_the_compose_file_is_valid_and_has_the_whole_stack():
    services = _config()["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "mailpit", "migrate"} <= set(services)


def test_app_services_wait_for_healthy_infrastructure_and_migrations():
    services = _config()["services"]
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        for infra in ("postgres", "redis", "mailpit"):
            assert depends[infra]["condition"] == "service_healthy", (name, infra)
            assert "healthcheck" in services[infra]
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_the_app_is_configured_for_postgres_redis_and_smtp():
    env = _config()["services"]["worker"]["environment"]
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["CELERY_BROKER_URL"].startswith("redis://")
    assert env["EMAIL_URL"].startswith("smtp://")
    assert env["DEBUG"] == "false"
