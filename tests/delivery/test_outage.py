"""PostgreSQL stops and starts while visitors sign up: a clear 503, then business as usual.

The site runs in gunicorn against a private PostgreSQL server (tests/pgserver.py), never the
shared one, which other tests are using.
"""

import json
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.db import OperationalError

from engage import beat
from newsletter.views import signup
from newsletter.web import joinpage
from newsletter.web.middleware import MESSAGE, RETRY_AFTER_SECONDS
from tests.pgserver import PgServer
from tests.production_web import ProductionWeb

pytestmark = pytest.mark.timeout(240)


class SignupSite(ProductionWeb):
    """The production web process on a private database, with a visitor's signups."""

    def __init__(self, *, database_url: str, email_url: str):
        super().__init__(
            database_url=database_url,
            email_url=email_url,
            # DEBUG on: with it off the CSRF cookie is Secure, and this visitor speaks plain HTTP.
            DEBUG="true",
            # Confirmation emails go out from the web process, so the test needs no worker and
            # leaves no task in the shared broker for another test's worker to find.
            CELERY_TASK_ALWAYS_EAGER="true",
            SIGNUP_RATE="10000/m",
        )

    def subscribe(self, email: str):
        body = json.dumps({"email": email, "consent": True}).encode()
        return self.request("POST", "/api/subscribe/", body, {"Content-Type": "application/json"})

    def csrf_token(self) -> str:
        status, _, html = self.request("GET", "/join/")
        assert status == 200
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    def join(self, email: str, csrf_token: str):
        form = {
            "email": email,
            "topics": ["news", "events"],
            "consent": "on",
            "csrfmiddlewaretoken": csrf_token,
        }
        body = urllib.parse.urlencode(form, doseq=True).encode()
        return self.request(
            "POST", "/join/", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )


@pytest.fixture
def private_database():
    with PgServer() as server:
        url = server.create_database("engage")
        server.migrate(url)
        yield server


@pytest.fixture
def site(private_database, sink):
    web = SignupSite(database_url=private_database.url("engage"), email_url=sink.url).start()
    yield web
    web.stop()


def stored_addresses(server: PgServer) -> list[str]:
    with server.connect("engage") as conn:
        rows = conn.execute("SELECT email FROM newsletter_subscriber ORDER BY email").fetchall()
    return [email for (email,) in rows]


def test_visitors_get_a_clear_503_while_the_database_is_down_and_nothing_is_lost(
    private_database, site, sink
):
    before = [f"before{i}@example.org" for i in range(5)]
    for email in before:
        assert site.subscribe(email)[0] == 202
    token = site.csrf_token()
    status, _, html = site.join("joined-before@example.org", token)
    assert status == 200 and "inbox" in html.lower()
    sink.wait_for(6)
    beat.record_tick()  # no beat runs here; its heartbeat is in the shared cache
    status, _, body = site.request("GET", "/healthz")
    assert status == 200 and json.loads(body)["database"] == "ok"

    private_database.stop()

    status, _, body = site.request("GET", "/healthz")
    assert status == 503
    body = json.loads(body)
    assert body == {**body, "status": "unavailable", "database": "down", "broker": "ok"}

    status, headers, body = site.subscribe("during@example.org")
    assert status == 503
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"error": MESSAGE}
    assert headers["Retry-After"] == str(RETRY_AFTER_SECONDS)

    status, headers, html = site.join("joined-during@example.org", token)
    assert status == 503
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "Briefly unavailable" in html and MESSAGE in html

    private_database.start()

    beat.record_tick()
    status, _, body = site.request("GET", "/healthz")
    assert status == 200
    body = json.loads(body)
    assert body == {**body, "status": "ok", "database": "ok", "broker": "ok", "beat": "ok"}
    assert site.subscribe("after@example.org")[0] == 202
    status, _, html = site.join("joined-after@example.org", site.csrf_token())
    assert status == 200

    assert stored_addresses(private_database) == sorted(
        [*before, "joined-before@example.org", "after@example.org", "joined-after@example.org"]
    )
    received = sink.wait_for(8)
    recipients = sorted(address for message in received for address in message.rcpt_tos)
    assert recipients == stored_addresses(private_database)
    assert "Traceback" not in site.output()


def _database_gone(*args, **kwargs):
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def test_the_embedded_form_shows_its_503_inside_the_frame(client, db, monkeypatch):
    # Not yet rendered by this process (a remembered embed is served without the database).
    monkeypatch.setattr(joinpage, "JoinForm", _database_gone)

    response = client.get("/join/embed/")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "X-Frame-Options" not in response.headers
    assert "site-header" not in response.content.decode()  # the embed layout, not the full page
    assert "no-store" in response.headers["Cache-Control"]  # not kept by a CDN in front


def test_errors_that_are_not_an_outage_stay_errors(client, db, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(signup, "validate_api_payload", broken)

    with pytest.raises(ValueError, match="a bug"):
        client.post("/api/subscribe/", {"email": "a@example.org"}, content_type="application/json")
