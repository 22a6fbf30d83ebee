"""The production web process for the API's tests: gunicorn, DEBUG off, on the test database."""

import json
import os
import secrets
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings

from tests.support import CHARITY_IDENTITY, ROOT, database_url, free_port, wait_until


class ProductionWeb:
    def __init__(self, *, email_url: str, **env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - gunicorn writes it until stop()
            prefix="gunicorn-api-", suffix=".log", delete=False
        )
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "engage.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": self.base,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CACHE_URL": settings.CACHES["default"].get("LOCATION", ""),
            "EMAIL_URL": email_url,
            # Confirmation emails go out from the web process: no worker, no task left behind.
            "CELERY_TASK_ALWAYS_EAGER": "true",
            "PYTHONUNBUFFERED": "1",
            **CHARITY_IDENTITY,
            **env,
        }
        self.proc = None

    def start(self) -> "ProductionWeb":
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "engage.wsgi:application"),
                *("--bind", f"127.0.0.1:{self.port}", "--workers", "2", "--timeout", "60"),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._answers, 60, message="gunicorn to answer")
        return self

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{self.output()}")
        try:
            self.call("GET", "/api/v1/schema/")
            return True
        except OSError:
            return False

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)

    def call(self, method: str, path: str, body=None, *, key: str | None = None, headers=None):
        """(status, headers, decoded JSON or None) for any status."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        if key:
            sent["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, got, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, got, raw = error.code, error.headers, error.read()
        return status, got, json.loads(raw) if raw else None
