"""The Docker build context and the compose file, read as docker reads them: no secret, no
virtualenv, no data and no history in the image; ports published on 127.0.0.1 only."""

import fnmatch
import os
import subprocess

import yaml

from tests.support import ROOT

IDENTITY = {
    "SECRET_KEY": "compose-config-check-only-" + "k" * 30,
    "DEFAULT_FROM_EMAIL": "Your Charity <news@your-charity.org.uk>",
    "ORGANISATION_NAME": "Your Charity",
    "ORGANISATION_ADDRESS": "Your Charity, 2 High Street, Leeds LS1 1AA, UK",
}


def compose_config(env: dict) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in IDENTITY}
    return subprocess.run(
        ["docker-compose", "config"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether docker's build context leaves `path` out (its .dockerignore matching, simplified
    to what this file uses: a pattern names a path or any of its parents)."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(candidate, pattern.removeprefix("**/"))
        or fnmatch.fnmatch(candidate.rsplit("/", 1)[-1], pattern.removeprefix("**/"))
        for pattern in patterns
        for candidate in candidates
    )


def test_the_build_context_leaves_out_secrets_data_venv_and_history():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not [p for p in patterns if p.startswith("!")]  # no exception re-includes anything
    for path in (
        ".git/config",
        ".venv/bin/python",
        "var/secret-key",
        "var/staff-password.txt",
        "var/engage.sqlite3",
        "var/outbox/1.eml",
        "var/media/logo.png",
        ".env",
        "test-artifacts/screenshot.png",
        "staticfiles/site.css",
        "newsletter/__pycache__/models.cpython-313.pyc",
    ):
        assert ignored(path, patterns), path
    for path in (
        "manage.py",
        "engage/settings.py",
        "requirements.txt",
        "newsletter/models/__init__.py",
    ):
        assert not ignored(path, patterns), path


def test_compose_publishes_ports_on_loopback_only():
    result = compose_config(IDENTITY)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]

    published = {
        name: service["ports"] for name, service in services.items() if service.get("ports")
    }
    assert set(published) == {"web", "mailpit"}
    for name, ports in published.items():
        for port in ports:
            host_ip = port["host_ip"] if isinstance(port, dict) else port.split(":")[0]
            assert host_ip == "127.0.0.1", (name, port)


def test_compose_checks_quietly_and_refuses_without_the_charitys_identity():
    quiet = subprocess.run(
        ["docker-compose", "config", "-q"],
        cwd=ROOT,
        env={**os.environ, **IDENTITY},
        capture_output=True,
        text=True,
    )
    assert quiet.returncode == 0, quiet.stderr

    for name in ("DEFAULT_FROM_EMAIL", "ORGANISATION_NAME", "ORGANISATION_ADDRESS"):
        result = compose_config({k: v for k, v in IDENTITY.items() if k != name})
        assert result.returncode != 0
        assert f"Set {name}" in result.stderr


def test_the_app_services_get_the_identity_and_debug_off():
    services = yaml.safe_load(compose_config(IDENTITY).stdout)["services"]
    for name in ("migrate", "web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DEBUG"] == "false"
        for variable in ("DEFAULT_FROM_EMAIL", "ORGANISATION_NAME", "ORGANISATION_ADDRESS"):
            assert env[variable] == IDENTITY[variable], (name, variable)
