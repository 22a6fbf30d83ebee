"""A subscriber manager imports a CSV in admin, in headless Chromium, with a real Celery worker
doing the import: upload, a column to map by hand, the dry run with its rejected rows, the
progress bar moving, the result. axe checks each new page. Screenshots in test-artifacts/."""

import pytest
from django.contrib.auth.models import Group, User
from django.db import transaction

from newsletter.models import Subscriber, SubscriberImport
from tests.browser import violations
from tests.factories import SubscriberFactory, role_group
from tests.support import wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]

ROWS = 10_000  # twenty chunks: long enough to watch the bar move


def supporters_csv() -> bytes:
    lines = ["Work e-mail,First name,Topics,Consent,Consent date"]
    lines += ["known@example.org,Known,news,yes,2025-03-01", "not an address,Cy,news,,"]
    lines += [f"supporter{i}@example.org,Sam,news,yes,2025-03-01" for i in range(ROWS - 2)]
    return ("\n".join(lines) + "\n").encode()


def subscriber_manager_role() -> Group:
    return role_group("subscriber manager")


def assert_accessible(browser, page):
    """axe on the page as this user sees it (its own context: the site's CSP refuses axe)."""
    context = browser.new_context(
        bypass_csp=True,
        storage_state=page.context.storage_state(),
        viewport={"width": 1280, "height": 900},
    )
    try:
        scanned = context.new_page()
        scanned.goto(page.url)
        assert violations(scanned) == [], page.url
    finally:
        context.close()


def test_a_subscriber_manager_imports_a_csv_with_a_dry_run_and_a_progress_bar(
    live_server,
    celery_worker,
    browser,
    page,
    screenshot,
    topics,
):
    manager = User.objects.create_user("manager", "manager@example.org", "a long passphrase")
    manager.is_staff = True
    manager.save()
    manager.groups.add(subscriber_manager_role())
    SubscriberFactory(email="known@example.org", active=True)

    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/newsletter/subscriber/")
    page.get_by_role("link", name="Import subscribers").click()
    page.get_by_role("heading", name="Import subscribers").wait_for()
    assert_accessible(browser, page)
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "supporters.csv", "mimeType": "text/csv", "buffer": supporters_csv()}]
    )
    screenshot(page, "upload")
    page.get_by_role("button", name="Upload and choose columns").click()

    page.get_by_role("heading", name="Choose what each column holds").wait_for()
    assert page.get_by_label("Work e-mail").input_value() == ""  # not a name it recognises
    assert page.get_by_label("First name").input_value() == "first_name"
    page.get_by_label("Work e-mail").select_option("email")
    screenshot(page, "columns mapped")
    assert_accessible(browser, page)
    page.get_by_role("button", name="Check every row (dry run)").click()

    page.get_by_role("heading", name="Dry run: what the import would do").wait_for()
    report = page.locator("table")
    assert report.get_by_role("row", name="3 Enter a valid email address.").count() == 1
    assert report.get_by_role("row", name="2 already subscribed").count() == 1
    screenshot(page, "dry run")
    assert_accessible(browser, page)
    assert Subscriber.objects.count() == 1  # the dry run wrote nothing

    page.get_by_role("button", name=f"Import {ROWS - 2} subscribers").click()
    bar = page.locator("progress#import-progress")
    bar.wait_for()
    job = SubscriberImport.objects.get()
    # Hold the job's row once a chunk is written: the worker's next chunk waits, and the page
    # shows the bar part-way, fed by the JSON it polls.
    wait_until(lambda: SubscriberImport.objects.get().rows_done > 0, 60, message="a chunk")
    with transaction.atomic():
        held = SubscriberImport.objects.select_for_update().get(pk=job.pk)
        assert 0 < held.rows_done < ROWS
        page.get_by_text(f"{held.rows_done} of {ROWS} rows").wait_for()
        assert int(bar.get_attribute("value") or 0) == held.rows_done
        screenshot(page, "import under way")
        assert_accessible(browser, page)

    page.get_by_role("heading", name="Import finished").wait_for(timeout=90_000)
    screenshot(page, "import finished")
    assert_accessible(browser, page)
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.data) == ("done", ROWS, "")
    assert (job.report["accepted"], job.report["rejected_count"]) == (ROWS - 2, 1)
    assert Subscriber.objects.count() == ROWS - 1
    assert Subscriber.objects.filter(status="active").count() == ROWS - 1
