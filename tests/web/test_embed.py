"""/join/embed/: the same bytes for everyone, cacheable by a CDN, and still a working form."""

from html import unescape
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from newsletter.models import SignupRequest, Subscriber, Topic
from newsletter.web import joinpage

CHARITY = "https://www.charity.example"


@pytest.fixture(autouse=True)
def _embedding_origins(settings):
    settings.EMBED_ALLOWED_ORIGINS = ["'self'", CHARITY]
    settings.EMBED_CACHE_SECONDS = 123


class FormReader(HTMLParser):
    """What a browser would send from the page's form: its fields as they stand."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.checkboxes: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag != "input" or "name" not in attrs:
            return
        if attrs.get("type") == "checkbox":
            self.checkboxes.append(attrs["name"])
            if "checked" in attrs:
                self.fields.append((attrs["name"], attrs.get("value", "on")))
        else:
            self.fields.append((attrs["name"], attrs.get("value", "")))


def fill_in(html: str, **values) -> dict:
    reader = FormReader()
    reader.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in reader.fields:
        data.setdefault(name, []).append(value)
    for name, value in values.items():
        data[name] = [value]
    return data


def test_every_visitor_gets_the_same_bytes_with_public_cache_headers(topics):
    first = Client().get("/join/embed/")
    returning = Client()
    returning.cookies["sessionid"] = "someone-signed-in-elsewhere"
    returning.cookies["csrftoken"] = "a" * 32
    second = returning.get("/join/embed/")

    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    for response in (first, second):
        assert not response.cookies
        assert "Cookie" not in response.headers.get("Vary", "")
        assert response.headers["Cache-Control"] == "public, max-age=123, s-maxage=123"
        assert response.headers["ETag"] == first.headers["ETag"]
    assert "csrfmiddlewaretoken" not in first.content.decode()


def test_a_matching_etag_is_answered_with_304_and_no_body(client, topics):
    etag = client.get("/join/embed/").headers["ETag"]

    unchanged = client.get("/join/embed/", headers={"If-None-Match": etag})
    stale = client.get("/join/embed/", headers={"If-None-Match": '"something-older"'})

    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == etag
    assert unchanged.headers["Cache-Control"] == "public, max-age=123, s-maxage=123"
    assert stale.status_code == 200


@pytest.mark.parametrize("origin", [CHARITY, "http://testserver", None])
def test_the_cached_form_posts_from_an_allowed_origin_without_a_cookie(
    topics, origin, django_capture_on_commit_callbacks
):
    Client().get("/join/embed/")  # rendered once, then served from memory
    page = Client().get("/join/embed/").content.decode()
    visitor = Client(enforce_csrf_checks=True)
    data = fill_in(page, email="reader@example.org", consent="on")
    headers = {"Origin": origin} if origin else {}

    with django_capture_on_commit_callbacks(execute=True):
        response = visitor.post("/join/embed/", data, headers=headers)

    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    assert "no-store" in response.headers["Cache-Control"]  # a person's answer is never shared
    subscriber = Subscriber.objects.get()
    assert (subscriber.email, subscriber.status) == ("reader@example.org", "pending")
    assert set(subscriber.topics.values_list("slug", flat=True)) == set(topics)
    assert [message.to for message in mail.outbox] == [["reader@example.org"]]


@pytest.mark.parametrize("origin", ["https://evil.example", "null", CHARITY + ".evil.example"])
def test_a_post_from_another_origin_is_refused_and_changes_nothing(
    topics, origin, django_capture_on_commit_callbacks
):
    page = Client().get("/join/embed/").content.decode()
    data = fill_in(page, email="victim@example.org", consent="on")

    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post("/join/embed/", data, headers={"Origin": origin})

    assert response.status_code == 403
    text = response.content.decode()
    assert "EMBED_ALLOWED_ORIGINS" in text
    assert 'class="embed"' in text  # shown inside the frame's layout
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


def test_the_honeypot_still_guards_the_cached_form(topics):
    page = Client().get("/join/embed/").content.decode()
    data = fill_in(page, email="bot@example.org", consent="on", website="http://spam.example")

    response = Client().post("/join/embed/", data, headers={"Origin": CHARITY})

    assert response.status_code == 200  # the bot learns nothing
    assert not Subscriber.objects.exists()


def test_a_new_or_renamed_topic_shows_at_once(client, topics, django_capture_on_commit_callbacks):
    before = client.get("/join/embed/")
    assert "Research" not in before.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        Topic.objects.create(slug="research", name="Research", position=9)
    added = client.get("/join/embed/")
    with django_capture_on_commit_callbacks(execute=True):
        news = topics["news"]
        news.name = "Charity news"
        news.save()
    renamed = client.get("/join/")

    assert 'value="research"' in added.content.decode()
    assert added.headers["ETag"] != before.headers["ETag"]
    assert "Charity news" in renamed.content.decode()


def test_other_processes_see_a_change_once_the_shared_generation_moves(client, topics, monkeypatch):
    client.get("/join/embed/")
    Topic.objects.create(slug="research", name="Research", position=9)  # not committed yet
    assert "Research" not in client.get("/join/embed/").content.decode()  # still remembered

    # Another process committed the change and moved the generation; this one looks again once
    # RECHECK_SECONDS has passed (0 here, instead of waiting).
    monkeypatch.setattr(joinpage, "RECHECK_SECONDS", 0)
    joinpage.cache.set(joinpage.GENERATION_KEY, "from-another-process", timeout=None)

    assert "Research" in client.get("/join/embed/").content.decode()


def test_the_join_page_gives_each_visitor_a_working_csrf_token(topics):
    visitor = Client(enforce_csrf_checks=True)
    page = visitor.get("/join/").content.decode()
    data = fill_in(page, email="reader@example.org", consent="on")

    response = visitor.post("/join/", data)

    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    assert SignupRequest.objects.filter(email="reader@example.org").exists()
    assert joinpage.CSRF_MARKER not in page


def test_staff_get_the_iframe_and_a_plain_html_form_snippet(client, topics, settings):
    embed_url = f"{settings.SITE_URL}/join/embed/"
    admin = User.objects.create_superuser("admin", "admin@example.org", "a-long-pass-phrase")
    client.force_login(admin)

    html = client.get("/admin/newsletter/subscriber/").content.decode()

    assert f'&lt;iframe src="{embed_url}"' in html
    snippet = unescape(html.split('id="join-form-snippet">')[1].split("</pre>")[0])
    assert snippet.startswith(f'<form action="{embed_url}" method="post"')
    assert 'name="email"' in snippet and 'name="website"' in snippet  # the honeypot goes too
    assert "csrfmiddlewaretoken" not in snippet
    assert "<script" not in snippet
