"""The production web process, for tests that call Engage over real HTTP: the Procfile's `web` line
(gunicorn with gunicorn.conf.py, DEBUG off unless a test says otherwise) on a loopback port."""

import http.cookiejar
import os
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings

from tests.support import CHARITY_IDENTITY, ROOT, free_port, wait_until

# What the settings read that this test process may have set for itself (pytest-env, fixtures).
_OURS = {"DEBUG", "DATABASE_URL", "CACHE_URL", "ESP", "STATIC_ROOT", "ENGAGE_VAR_DIR", "EMAIL_URL"}


def procfile(process: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name == process:
            return command.strip()
    raise AssertionError(f"no {process} in Procfile")


class ProductionWeb:
    """`start()` it, `request()` it (any status, 5xx included; a cookie jar keeps the session),
    `stop()` it. Keyword arguments are environment variables over the production defaults."""

    def __init__(self, *, database_url: str, email_url: str, **env: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.scratch = Path(tempfile.mkdtemp(prefix="engage-web-"))
        self.log = self.scratch / "web.log"
        cache = settings.CACHES["default"]
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in _OURS},
            "DEBUG": "false",
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": self.base,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "EMAIL_URL": email_url,
            "STATIC_ROOT": str(self.scratch / "static"),
            "ENGAGE_VAR_DIR": str(self.scratch / "var"),
            "PORT": str(self.port),
            "WEB_CONCURRENCY": "2",
            "PYTHONUNBUFFERED": "1",
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            **CHARITY_IDENTITY,
            **({"CACHE_URL": cache["LOCATION"]} if "redis" in cache["BACKEND"].lower() else {}),
            **env,
        }
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.proc = None

    def release(self) -> "ProductionWeb":
        """The README's release step: migrate, then collectstatic (pages need the hashed files)."""
        for step in (["migrate", "--noinput"], ["collectstatic", "--noinput", "-v", "0"]):
            manage = [sys.executable, "manage.py", *step]
            subprocess.run(manage, cwd=ROOT, env=self.env, check=True)
        return self

    def start(self, timeout: float = 60) -> "ProductionWeb":
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                ["sh", "-c", procfile("web")],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._answers, timeout, message="the web process to answer")
        return self

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"the web process exited:\n{self.output()[-3000:]}")
        try:
            # Any answer: a page may need rows that another test's flush took away.
            return self.request("GET", "/healthz")[0] > 0
        except OSError:
            return False

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        """(status, headers, body text) for any status."""
        sent = urllib.request.Request(
            self.base + path, data=body, method=method, headers=headers or {}
        )
        try:
            with self._opener.open(sent, timeout=60) as response:
                return response.status, response.headers, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode(errors="replace")
