"""The API over real HTTP against the production web process (gunicorn, DEBUG off): the main
flows as a CRM and a CMS call them, every operation refusing a missing or out-of-scope key, and
Schemathesis against the served schema."""

import subprocess
import sys
from pathlib import Path

import pytest

from newsletter.api import keys
from newsletter.models import ApiKey, Subscriber
from tests.api.server import ApiWeb
from tests.support import ROOT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(400)]


@pytest.fixture
def web(sink, topics):
    server = ApiWeb(email_url=sink.url, API_RATE="100000/m").start()
    yield server
    server.stop()


def _key(scope: str) -> str:
    return keys.key_create(name=f"{scope} over http", scope=scope)[1]


def test_a_crm_syncs_subscribers_over_http(web, sink):
    crm = _key("subscribers")

    signup = web.call(
        "POST", "/api/v1/subscribers/", {"email": "ada@example.org", "consent": True}, key=crm
    )
    retried = [
        web.call(
            "POST",
            "/api/v1/subscribers/",
            {"mode": "import", "email": f"row{i}@example.org", "consent": False},
            key=crm,
            headers={"Idempotency-Key": f"row-{i}"},
        )
        for i in range(3)
        for _ in range(2)
    ]
    pages, cursor = [], ""
    while True:
        status, _, page = web.call("GET", f"/api/v1/subscribers/?limit=2{cursor}", key=crm)
        assert status == 200
        pages.append([row["email"] for row in page["results"]])
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    some = Subscriber.objects.get(email="row1@example.org")
    changed = web.call("PATCH", f"/api/v1/subscribers/{some.pk}/", {"topics": ["news"]}, key=crm)
    erased = web.call("DELETE", f"/api/v1/subscribers/{some.pk}/", key=crm)

    assert signup[0] == 202 and signup[2] == {"status": "pending"}
    assert sink.wait_for(1)[0].rcpt_tos == ["ada@example.org"]  # the double opt-in email
    assert [status for status, _, _ in retried] == [201] * 6
    assert [headers.get("Idempotent-Replayed") for _, headers, _ in retried][1::2] == ["true"] * 3
    assert sorted(sum(pages, [])) == sorted(
        ["ada@example.org", "row0@example.org", "row1@example.org", "row2@example.org"]
    )
    assert [len(page) for page in pages] == [2, 2]
    assert changed[0] == 200 and changed[2]["topics"] == ["news"]
    assert erased[0] == 204
    assert not Subscriber.objects.filter(email="row1@example.org").exists()


def test_bad_input_over_http_is_a_4xx_with_a_reason_and_changes_nothing(web):
    crm = _key("subscribers")
    revoked = _key("full")
    ApiKey.objects.filter(name="full over http").update(revoked_at="2026-01-01T00:00:00Z")
    url = "/api/v1/subscribers/"
    body = {"mode": "import", "email": "x@example.org"}

    answers = {
        "unknown field": web.call("POST", url, {**body, "admin": True}, key=crm),
        "wrong type": web.call("POST", url, {**body, "consent": "maybe"}, key=crm),
        "oversize": web.call("POST", url, b"{" + b" " * 70_000 + b"}", key=crm),
        "not json": web.call("POST", url, b"{nope", key=crm),
        "NUL": web.call("POST", url, {**body, "first_name": "a\x00b"}, key=crm),
        "revoked key": web.call("POST", url, body, key=revoked),
        "wrong scope": web.call("POST", url, body, key=_key("editor")),
        "no route": web.call("GET", "/api/v1/nothing/", key=crm),
    }

    statuses = {name: status for name, (status, _, _) in answers.items()}
    assert statuses == {
        "unknown field": 400,
        "wrong type": 400,
        "oversize": 413,
        "not json": 400,
        "NUL": 400,
        "revoked key": 401,
        "wrong scope": 403,
        "no route": 404,
    }
    for name, (_, _, error) in answers.items():
        assert error["error"]["message"], name
    assert not Subscriber.objects.exists()


# Which scopes may call each operation (by its first path segment; publish needs "full").
ALLOWED = {
    "subscribers": {"subscribers", "full"},
    "suppressions": {"subscribers", "full"},
    "events": {"subscribers", "full"},
    "interest": {"subscribers", "full"},
    "topics": {"editor", "sender", "subscribers", "full"},
    "posts": {"editor", "full"},
    "campaigns": {"editor", "sender", "full"},
}


def test_every_operation_refuses_no_key_and_every_key_outside_its_scope(web):
    status, _, schema = web.call("GET", "/api/v1/schema/")
    by_scope = {scope: _key(scope) for scope in ("editor", "sender", "subscribers", "full")}
    checked = 0

    for path, operations in schema["paths"].items():
        concrete = "/".join("1" if part.startswith("{") else part for part in path.split("/"))
        section = path.split("/")[3]
        for method in operations:
            allowed = {"full"} if path.endswith("/publish/") else ALLOWED[section]
            assert web.call(method.upper(), concrete, {})[0] == 401, (method, path)
            for scope, key in by_scope.items():
                got = web.call(method.upper(), concrete, {}, key=key)[0]
                if scope in allowed:
                    assert got != 403, (scope, method, path)
                else:
                    assert got == 403, (scope, method, path, got)
            checked += 1

    assert status == 200 and checked == sum(len(ops) for ops in schema["paths"].values()) >= 20


@pytest.mark.timeout(600)
def test_schemathesis_finds_nothing_against_the_served_schema(web, tmp_path):
    """Every operation, examples, coverage, fuzzing and stateful phases, bounded in examples and
    time. Checks: no 5xx, every status and response body as documented, content types, and no
    2xx without a key (ignored_auth). `positive_data_acceptance` is left out: the schema cannot
    say that an email address must be valid or that a slug is unique, so a schema-valid body
    may rightly get a 400."""
    key = _key("full")

    result = subprocess.run(
        [
            *(sys.executable, "-m", "schemathesis.cli"),
            *("--config-file", str(Path(__file__).with_name("schemathesis.toml"))),
            *("run", f"{web.base}/api/v1/schema/"),
            *("--header", f"Authorization: Bearer {key}"),
            *("--max-examples", "20", "--max-time", "100", "--seed", "2026"),
            *("--request-timeout", "30", "--no-color", "--warnings", "off"),
            *("--exclude-checks", "positive_data_acceptance"),
            *("--report", "junit", "--report-dir", str(tmp_path)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=500,
    )

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "22 passed" in result.stdout or "passed" in result.stdout
