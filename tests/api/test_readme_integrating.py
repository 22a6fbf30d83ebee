"""README's "Integrating" section, run as written: its curl creates a subscriber against the
production web process, and its five lines verify a webhook Engage signed."""

import json
import re
import subprocess
import textwrap

import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from newsletter.api import keys, webhooks
from newsletter.models import SignupRequest, Subscriber
from tests.api.server import ApiWeb
from tests.support import ROOT


def _section() -> str:
    readme = (ROOT / "README.md").read_text()
    assert "\n## Integrating\n" in readme, "README has no Integrating section"
    return readme.split("\n## Integrating\n", 1)[1].split("\n## ", 1)[0]


def _block(language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)```", _section(), re.S)
    assert found, f"no {language} block in README's Integrating section"
    return textwrap.dedent(found.group(1))


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_the_readme_curl_creates_a_subscriber(sink, topics):
    web = ApiWeb(email_url=sink.url).start()
    try:
        key = keys.key_create(name="README", scope="subscribers")[1]
        result = subprocess.run(
            ["bash", "-c", _block("sh")],
            env={"ENGAGE_URL": web.base, "ENGAGE_KEY": key, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        web.stop()

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"status": "pending"}
    assert SignupRequest.objects.filter(email="ada@example.org").exists()
    assert Subscriber.objects.get(email="ada@example.org").status == "pending"
    assert sink.wait_for(1)[0].rcpt_tos == ["ada@example.org"]


def test_the_readme_lines_verify_a_webhook_and_refuse_an_altered_one():
    names = {}
    exec(_block("python"), names)  # noqa: S102 - README's own code, run as written
    secret = webhooks.new_secret()
    body = json.dumps({"type": "subscriber.erased", "sequence": 7, "data": {}}).encode()
    headers = webhooks.signed_headers(secret, "msg_1", body)

    assert names["receive"](body, headers, secret)["sequence"] == 7
    with pytest.raises(WebhookVerificationError):
        names["receive"](body.replace(b"7", b"8"), headers, secret)
