"""`manage.py seed_demo`: the demo that `make run` loads, idempotently."""

import re
from datetime import UTC, datetime, time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from newsletter.content import demo_content
from newsletter.content.posts import render_markdown
from newsletter.models import DigestSchedule, Post, Reference, Subscriber

SEEDED_AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def seed(topics, tmp_path):
    """Run seed_demo (keeping the staff password under tmp_path) and return what it printed."""
    password_file = tmp_path / "staff-password.txt"

    def run() -> str:
        out = StringIO()
        call_command("seed_demo", password_file=password_file, stdout=out)
        return out.getvalue()

    run.password_file = password_file
    return run


def printed_password(output: str) -> str:
    match = re.search(r"username staff, password (\S+)", output)
    assert match, output
    return match.group(1)


def snapshot() -> dict:
    """Everything seed_demo writes, with each row's last change where the model records it."""
    User = get_user_model()
    return {
        "posts": sorted(Post.objects.values_list("slug", "updated_at")),
        "references": sorted(Reference.objects.values_list("post__slug", "position", "title")),
        "subscribers": sorted(Subscriber.objects.values_list("email", "updated_at")),
        "subscriber_topics": sorted(Subscriber.topics.through.objects.values_list("pk")),
        "schedules": list(DigestSchedule.objects.values_list("name", "updated_at", "next_run_at")),
        "schedule_topics": sorted(DigestSchedule.topics.through.objects.values_list("pk")),
        "users": list(User.objects.values_list("username", "password")),
    }


def test_a_second_run_changes_nothing_and_creates_no_duplicates(seed):
    with time_machine.travel(SEEDED_AT, tick=False):
        seed()
    before = snapshot()

    with time_machine.travel(SEEDED_AT + timedelta(hours=2), tick=False):
        output = seed()

    assert snapshot() == before
    assert len(before["posts"]) == len(demo_content.POSTS) == 5
    assert len(before["subscribers"]) == len(demo_content.SUBSCRIBERS) == 12
    assert [name for name, *_ in before["schedules"]] == ["Weekly digest"]
    assert [username for username, _ in before["users"]] == ["staff"]
    assert "nothing changed" in output


def test_it_publishes_the_posts_recently_so_the_first_digest_picks_them_up(seed):
    with time_machine.travel(SEEDED_AT, tick=False):
        seed()

    posts = Post.objects.select_related("topic")
    assert {post.status for post in posts} == {Post.Status.PUBLISHED}
    assert all(SEEDED_AT - timedelta(days=7) < post.published_at < SEEDED_AT for post in posts)
    assert sorted((post.kind, post.topic.slug) for post in posts) == [
        ("education", "education"),
        ("event", "events"),
        ("get-involved", "get-involved"),
        ("news", "news"),
        ("news", "news"),
    ]
    assert all(post.url.startswith("https://www.engage-charity.example/") for post in posts)
    assert all(post.summary and post.body for post in posts)
    assert all(post.image_alt for post in posts if post.image_url)


def test_the_article_keeps_its_seven_references_in_order_and_cites_each_one(seed):
    seed()

    article = Post.objects.get(kind=Post.Kind.EDUCATION)
    references = list(article.references.all())
    assert [(r.position, r.title, r.publisher) for r in references[:2]] == [
        (1, "What is ALS?", "ALS Association"),
        (2, "Amyotrophic lateral sclerosis (ALS)", "Mayo Clinic"),
    ]
    assert [r.position for r in references] == [1, 2, 3, 4, 5, 6, 7]
    assert references[4].publisher == "Baltimore Sun" and references[4].year == 2018
    for reference in references:
        assert f"[{reference.position}]" in article.body
    assert 700 <= len(article.body.split()) <= 1100
    # It is not medical advice, and says so.
    assert "not medical advice" in article.body
    assert "talk to your\n> GP" in article.body


def test_the_event_starts_in_three_weeks_at_half_past_six_london_time(seed):
    with time_machine.travel(SEEDED_AT, tick=False):
        seed()

    event = Post.objects.get(kind=Post.Kind.EVENT)
    starts, ends = event.starts_at.astimezone(LONDON), event.ends_at.astimezone(LONDON)
    assert starts.date() == SEEDED_AT.astimezone(LONDON).date() + timedelta(days=21)
    assert (starts.time(), ends.time(), ends.date()) == (time(18, 30), time(20, 30), starts.date())
    assert event.timezone == "Europe/London"
    assert event.location
    assert event.registration_url.startswith("https://www.engage-charity.example/events/")


def test_subscribers_are_active_with_a_consent_record_and_chosen_topics(seed):
    with time_machine.travel(SEEDED_AT, tick=False):
        seed()

    subscribers = Subscriber.objects.prefetch_related("topics")
    for subscriber in subscribers:
        assert subscriber.email.endswith("@example.org")
        assert subscriber.status == Subscriber.Status.ACTIVE
        assert subscriber.consent_source == "demo-seed"
        assert subscriber.consent_version == settings.CONSENT_VERSION
        assert subscriber.consent_at <= subscriber.confirmed_at < SEEDED_AT
        assert subscriber.topics.exists()
    assert len({frozenset(t.slug for t in s.topics.all()) for s in subscribers}) >= 6
    assert any(not s.first_name.isascii() for s in subscribers)


def test_the_staff_user_logs_in_with_the_printed_password_which_stays_the_same(seed, client):
    password = printed_password(seed())

    assert client.login(username="staff", password=password)
    assert get_user_model().objects.get(username="staff").is_superuser
    assert seed.password_file.read_text().strip() == password
    assert printed_password(seed()) == password


def test_it_prints_where_to_go_and_where_emails_land(seed, settings):
    settings.MAILERS = {
        "default": {
            "BACKEND": "newsletter.mail.outbox.OutboxBackend",
            "OPTIONS": {"file_path": str(settings.BASE_DIR / "var" / "outbox")},
        }
    }
    output = seed()

    assert "http://127.0.0.1:8000/join/" in output
    assert "http://127.0.0.1:8000/admin/" in output
    assert "emails land in var/outbox/ (open the .eml files)" in output.lower()


def test_it_leaves_an_existing_staff_password_alone(seed, client):
    get_user_model().objects.create_superuser("staff", "staff@example.org", "chosen-by-a-person")

    output = seed()

    assert "username staff, password" not in output
    assert "changepassword staff" in output
    assert client.login(username="staff", password="chosen-by-a-person")
    assert not seed.password_file.exists()


def test_the_first_digest_is_due_within_two_minutes_and_a_second_run_does_not_move_it(seed):
    with time_machine.travel(SEEDED_AT, tick=False):
        seed()
    schedule = DigestSchedule.objects.get()
    assert SEEDED_AT < schedule.next_run_at <= SEEDED_AT + timedelta(minutes=2)
    assert schedule.is_active
    assert schedule.weekday == DigestSchedule.Weekday.MONDAY
    assert (schedule.time_of_day, schedule.timezone) == (time(9, 0), "Europe/London")
    assert sorted(schedule.topics.values_list("slug", flat=True)) == [
        "education",
        "events",
        "get-involved",
        "news",
    ]
    assert "{date}" in schedule.subject

    # The digest ran and moved it to next Monday; seeding again must keep that.
    next_monday = datetime(2026, 11, 30, 9, 0, tzinfo=LONDON)
    DigestSchedule.objects.update(next_run_at=next_monday)
    with time_machine.travel(SEEDED_AT + timedelta(minutes=30), tick=False):
        seed()

    assert DigestSchedule.objects.get().next_run_at == next_monday


def test_every_demo_post_body_renders_to_sanitised_html(seed):
    seed()

    for post in Post.objects.all():
        html = render_markdown(post.body)
        assert "<p>" in html, post.slug
        assert "##" not in html and "**" not in html, post.slug
    article = render_markdown(Post.objects.get(kind=Post.Kind.EDUCATION).body)
    assert article.count("<h2>") >= 6
    assert "<blockquote>" in article and "<ol>" in article and "<ul>" in article
