"""Real parts for tests: an SMTP server on loopback and Celery worker processes."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=60.0, interval=0.05, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)


@dataclass
class SinkHandler:
    """Stores what arrives; `refuse` and `temporary_failure` make it misbehave on purpose."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> "550 5.1.1 reply"
    temporary_failure: str | None = None  # e.g. "421 4.3.2 try later" for every message
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.temporary_failure:
            return self.temporary_failure
        if address.lower() in self.refuse:
            return self.refuse[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.temporary_failure:
            return self.temporary_failure
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 Message accepted for delivery"


@dataclass
class StormHandler(SinkHandler):
    """Answers `reply` (a temporary failure) to the first `storm` recipients, then accepts."""

    storm: int = 40
    reply: str = "421 4.3.2 Service busy, try again later"
    refused: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            if self.refused < self.storm:
                self.refused += 1
                return self.reply
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


class SmtpSink:
    def __init__(self, handler: SinkHandler | None = None):
        self.handler = handler or SinkHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def reset(self):
        with self.handler.lock:
            self.handler.received.clear()
        self.handler.refuse.clear()
        self.handler.temporary_failure = None

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        wait_until(lambda: len(self.received) >= count, timeout, message=f"{count} messages")
        return self.received

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def database_url() -> str:
    """The URL of the database the tests are using right now (the test database)."""
    s = connection.settings_dict
    if s["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("worker tests need PostgreSQL: set DATABASE_URL (make test does)")
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host, port = s.get("HOST") or "127.0.0.1", s.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{s['NAME']}"


class WorkerProcess:
    """A real `celery worker` process on the test database and broker."""

    def __init__(self, *, email_url: str, concurrency: int = 2, extra_env: dict | None = None):
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - the worker writes it until stop()
            prefix="celery-worker-", suffix=".log", delete=False
        )
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "engage.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "EMAIL_URL": email_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        if "CACHE_URL" not in self.env and "redis" in settings.CACHES["default"]["BACKEND"].lower():
            self.env["CACHE_URL"] = settings.CACHES["default"]["LOCATION"]
        self.concurrency = concurrency
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "engage",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={self.concurrency}",
                "--pool=prefork",
                "-n",
                self.name,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(
            lambda: b" ready." in Path(self.log.name).read_bytes() or self.proc.poll() is not None,
            timeout,
            message="the Celery worker to start",
        )
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited at start:\n{self.output()}")
        return self

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def kill(self):
        """SIGKILL the whole worker (main process and pool children), as a crash would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
