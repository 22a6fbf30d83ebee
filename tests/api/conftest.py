import json
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.test import Client

from newsletter.api import keys, webhooks
from newsletter.models import WebhookEndpoint
from tests.support import ROOT, free_port, wait_until


class ApiClient:
    """The Django client as another system calls the API: JSON, a bearer key, CSRF enforced."""

    def __init__(self, secret: str | None):
        self.client = Client(enforce_csrf_checks=True)
        self.secret = secret

    def _headers(self, headers):
        base = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        return {**base, **(headers or {})}

    def get(self, path, headers=None, **params):
        return self.client.get(path, params, headers=self._headers(headers))

    def post(self, path, body=None, headers=None, *, raw=None):
        data = raw if raw is not None else body or {}
        return self.client.post(
            path, data, content_type="application/json", headers=self._headers(headers)
        )

    def patch(self, path, body, headers=None):
        return self.client.patch(
            path, body, content_type="application/json", headers=self._headers(headers)
        )

    def delete(self, path, headers=None):
        return self.client.delete(path, headers=self._headers(headers))


@pytest.fixture
def make_key(db):
    def make(scope="full", name=None):
        key, secret = keys.key_create(name=name or f"{scope} key", scope=scope)
        return ApiClient(secret)

    return make


@pytest.fixture
def crm(make_key):
    """A CRM's key: the subscriber manager's scope."""
    return make_key("subscribers", "CRM sync")


@pytest.fixture
def cms(make_key):
    """The website CMS's key: the editor's scope."""
    return make_key("editor", "Website CMS")


class Receiver:
    """tests/api/receiver.py in its own process; `stop()` and `start()` again for an outage."""

    def __init__(self, secret: str, delay: float = 0.0):
        self.port = free_port()
        self.secret = secret
        self.delay = delay
        self.out = Path(tempfile.mkstemp(prefix="webhooks-", suffix=".jsonl")[1])
        self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/engage"

    def start(self) -> "Receiver":
        command = [sys.executable, "-m", "tests.api.receiver", str(self.port), self.secret]
        self.proc = subprocess.Popen([*command, str(self.out), str(self.delay)], cwd=ROOT)
        wait_until(self._listening, 30, message="the receiver to listen")
        return self

    def _listening(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def received(self) -> list[dict]:
        text = self.out.read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    made = []

    def start(delay: float = 0.0):
        made.append(Receiver(webhooks.new_secret(), delay).start())
        return made[-1]

    yield start
    for each in made:
        each.stop()


def endpoint_for(receiver, *, scope="full", events=None, **fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name=f"receiver {receiver.port}",
        url=receiver.url,
        events=events or list(WebhookEndpoint.EventType.values),
        scope=scope,
        secret=receiver.secret,
        **fields,
    )
