import subprocess

import yaml

from tests.support import ROOT


def _config() -> dict:
    result = subprocess.run(
        ["docker-compose", "config"], cwd=ROOT, capture_output=True, text=True, check=False
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
