"""Logs keep no link token, query string or address; a refused admin page is one INFO line; and
LOG_FORMAT=json writes JSON. (tests/deploy/test_fresh_clone.py greps a whole deployment's log.)"""

import io
import json
import logging
import logging.config

import pytest
from django.contrib.auth.models import User

from engage import logs


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('"GET /confirm/AbC:1x-_9/ HTTP/1.1" 200', '"GET /confirm/[redacted]/ HTTP/1.1" 200'),
        ("Bad Request: /preferences/tok.en:x/", "Bad Request: /preferences/[redacted]/"),
        ("POST /unsubscribe/t0k3n/", "POST /unsubscribe/[redacted]/"),
        ("GET /t/c/abc/ 302", "GET /t/c/[redacted]/ 302"),
        ("GET /t/o/abc.gif", "GET /t/o/[redacted].gif"),
        ("GET /rsvp/abc/ and /involved/def/", "GET /rsvp/[redacted]/ and /involved/[redacted]/"),
        (
            "GET /admin/newsletter/subscriber/?q=ann%40example.org",
            "GET /admin/newsletter/subscriber/?[redacted]",
        ),
        ("sent to ann.lee+news@example.org", "sent to [address]"),
        ("GET /join/ 200", "GET /join/ 200"),
    ],
)
def test_redact(line, expected):
    assert logs.redact(line) == expected


@pytest.fixture
def log_stream(settings):
    """The logging production configures (settings.LOGGING), written to a buffer."""
    stream = io.StringIO()

    def configure(json_lines=False):
        config = logs.config(level="INFO", json=json_lines)
        config["handlers"]["console"]["stream"] = stream
        logging.config.dictConfig(config)
        return stream

    yield configure
    logging.config.dictConfig(settings.LOGGING)


def request_lines(stream) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if "django.request" in line]


def test_a_refused_admin_page_is_one_info_line(client, db, log_stream):
    stream = log_stream()
    clerk = User.objects.create_user("clerk", password="x" * 12, is_staff=True)
    client.force_login(clerk)

    response = client.get("/admin/newsletter/subscriber/?q=ann@example.org")

    assert response.status_code == 403
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert (
        " INFO django.request Forbidden (Permission denied): /admin/newsletter/subscriber/"
        in lines[0]
    )
    assert "Traceback" not in stream.getvalue()
    assert "ann@example.org" not in stream.getvalue()


def test_json_logs_are_one_object_a_line_and_redacted(client, db, log_stream):
    stream = log_stream(json_lines=True)

    client.get("/confirm/not-a-real-token-123/")

    records = [json.loads(line) for line in request_lines(stream)]
    assert records and records[0]["level"] == "WARNING"
    assert records[0]["logger"] == "django.request"
    assert records[0]["message"] == "Bad Request: /confirm/[redacted]/"
    assert "not-a-real-token-123" not in stream.getvalue()


def test_the_settings_use_json_when_asked():
    config = logs.config(level="INFO", json=True)
    assert config["formatters"]["engage"]["()"] == "pythonjsonlogger.json.JsonFormatter"
    assert config["handlers"]["console"]["filters"] == ["expected_forbidden", "redact"]
