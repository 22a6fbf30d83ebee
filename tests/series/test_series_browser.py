"""Staff build a two-step welcome series in admin (headless Chromium), activate it, a visitor
joins and confirms, and staff watch the series run: the counts move as the steps go out.

The test process plays beat (it runs the series tick, at a moment it names for the delay); a real
worker sends."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from newsletter import series
from newsletter.models import Series

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]


def step_counts(page, position: int) -> str:
    return " ".join(page.locator(f'tr[data-step="{position}"] td').all_inner_texts()[1:5])


def fill_step(page, n: int, *, subject: str, body: str, delay: str, unit: str):
    page.locator(f"#id_steps-{n}-position").fill(str(n + 1))
    page.locator(f"#id_steps-{n}-subject").fill(subject)
    page.locator(f"#id_steps-{n}-body").fill(body)
    page.locator(f"#id_steps-{n}-delay").fill(delay)
    page.locator(f"#id_steps-{n}-delay_unit").select_option(unit)


def test_staff_build_a_two_step_series_activate_it_and_watch_it_run(
    site,
    page,
    screenshot,
    sink,
    topics,
):
    get_user_model().objects.create_superuser("staff", "staff@example.org", "a long passphrase")
    page.goto(f"{site}/admin/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{site}/admin/newsletter/series/add/")
    page.get_by_label("Name").fill("Welcome")
    page.get_by_label("Trigger").select_option("confirmed")
    for _ in range(2):
        page.get_by_role("button", name="Add another Series step").click()
    fill_step(
        page,
        0,
        subject="Welcome to the charity",
        body="Thank you for joining.",
        delay="0",
        unit="days",
    )
    fill_step(
        page,
        1,
        subject="Ways to get involved",
        body="Here is how to help.",
        delay="2",
        unit="minutes",
    )
    screenshot(page, "a two-step series written")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was added successfully").wait_for()

    page.locator("input[name=_selected_action]").check()
    page.locator("select[name=action]").select_option("activate_selected")
    page.get_by_role("button", name="Run").click()
    page.get_by_text("“Welcome” is active.").wait_for()
    screenshot(page, "activated")
    welcome = Series.objects.get()
    assert welcome.status == "active"

    # A visitor joins and confirms from the email a worker sent.
    page.goto(f"{site}/join/")
    page.locator("input[name=email]").fill("reader@example.org")
    page.locator("input[name=consent]").check()
    page.locator("button[type=submit]").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    (received,) = sink.wait_for(1)
    text = received.message.get_body(("plain",)).get_content()
    # Its path on this server (a session-wide worker may have written another SITE_URL).
    page.goto(site + re.search(r"https?://[^/\s]+(/confirm/\S+/)", text).group(1))
    page.get_by_role("button", name="Confirm my subscription").click()
    page.get_by_role("heading", name="Thank you, you are subscribed").wait_for()

    change = f"{site}/admin/newsletter/series/{welcome.pk}/change/"
    page.goto(change)
    assert step_counts(page, 1) == "1 0 0 0" and step_counts(page, 2) == "1 0 0 0"
    screenshot(page, "one reader waiting")

    now = timezone.now()
    series.run_due_steps(now)  # beat's tick
    [first] = sink.wait_for(2)[1:]
    assert first.message["Subject"] == "Welcome to the charity"
    page.goto(change)
    assert step_counts(page, 1) == "0 1 0 0" and step_counts(page, 2) == "1 0 0 0"
    screenshot(page, "step one sent")

    series.run_due_steps(now + timedelta(minutes=2, seconds=1))
    [second] = sink.wait_for(3)[2:]
    assert second.message["Subject"] == "Ways to get involved"
    page.goto(change)
    assert step_counts(page, 2) == "0 1 0 0"
    assert "0 active, 1 finished, 0 stopped" in page.content()
    screenshot(page, "both steps sent")
