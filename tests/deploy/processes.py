"""A real `celery beat` process for tests (tests/support.py has the worker)."""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from django.conf import settings

from tests.support import ROOT, database_url


class BeatProcess:
    """A real `celery beat` on the test database and cache; no worker reads its queue."""

    def __init__(self, folder: Path, *, extra_env: dict | None = None):
        self.log = folder / f"beat-{uuid.uuid4().hex[:6]}.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_QUEUE": f"beat-health-{uuid.uuid4().hex[:8]}",
            "BEAT_SCHEDULE_FILE": str(folder / uuid.uuid4().hex[:6] / "celerybeat-schedule"),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        if "redis" in settings.CACHES["default"]["BACKEND"].lower():
            self.env["CACHE_URL"] = settings.CACHES["default"]["LOCATION"]
        self.proc = None

    def start(self):
        command = [sys.executable, "-m", "celery", "-A", "engage", "beat", "--loglevel=INFO"]
        self.proc = subprocess.Popen(  # noqa: SIM115 - stopped by stop()
            command,
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")
