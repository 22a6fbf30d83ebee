"""Issue 26's comms officer, in headless Chromium with a real Celery worker: a subscriber manager
(the role, not a superuser) imports a file as a CRM exports it (names, "News; Events" topics, no
consent columns, some bad rows), states one consent date for the whole file, and sees every valid
row imported and each rejected row explained. Screenshots in test-artifacts/."""

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from newsletter.models import Subscriber, SubscriberImport
from tests.subscribers.test_import_admin_browser import assert_accessible, subscriber_manager_role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]

CRM_EXPORT = b""""First Name","Email Address","Topics"
"Ada","ada@example.org","News; Events"
"Ben","ben@example.org","Get involved"
"Cy","cy at example.org","News"
"Dee","dee@example.org","News; Gossip"
"Ada","ADA@example.org","Events"
"Eve","eve@example.org","education, news"
"""


def sign_in(page, live_server) -> None:
    manager = User.objects.create_user("comms", "comms@example.org", "a long passphrase")
    manager.is_staff = True
    manager.save()
    manager.groups.add(subscriber_manager_role())
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("comms")
    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_role("button", name="Log in").click()


def test_a_comms_officer_imports_a_crm_export_with_one_consent_date_for_the_file(
    live_server, celery_worker, browser, page, screenshot, topics
):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/admin/newsletter/subscriber/")
    page.get_by_role("link", name="Import subscribers").click()
    page.get_by_role("heading", name="Import subscribers").wait_for()
    columns = page.get_by_role("table", name="Columns the import understands")
    assert columns.get_by_role("row", name="Topics News; Events").count() == 1
    with page.expect_download() as download:
        page.get_by_role("link", name="Download a sample file (CSV)").click()
    sample = Path(download.value.path()).read_text(encoding="utf-8")
    assert next(csv.reader(io.StringIO(sample)))[:3] == ["Email", "First name", "Topics"]
    screenshot(page, "upload page with the sample and the columns")
    assert_accessible(browser, page)

    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "crm-export.csv", "mimeType": "text/csv", "buffer": CRM_EXPORT}]
    )
    page.get_by_role("button", name="Upload and choose columns").click()

    page.get_by_role("heading", name="Choose what each column holds").wait_for()
    assert page.get_by_label("First Name").input_value() == "first_name"
    assert page.get_by_label("Email Address").input_value() == "email"
    assert page.get_by_label("Topics").input_value() == "topics"
    page.get_by_label("These people consented on").fill("2026-05-09")
    page.get_by_label("How they consented").fill("signed up at the 2026 walk")
    screenshot(page, "columns and one consent date for the file")
    assert_accessible(browser, page)
    page.get_by_role("button", name="Check every row (dry run)").click()

    page.get_by_role("heading", name="Dry run: what the import would do").wait_for()
    page.get_by_text(
        "these people consented on 9 May 2026 via “signed up at the 2026 walk”"
    ).wait_for()
    assert_rejections_explained(page)
    screenshot(page, "dry run")
    assert Subscriber.objects.count() == 0

    page.get_by_role("button", name="Import 3 subscribers").click()
    page.get_by_role("heading", name="Import finished").wait_for(timeout=90_000)
    assert "3 imported (3 active, 0 pending" in page.locator(".import-counts").inner_text()
    assert_rejections_explained(page)
    screenshot(page, "import finished")
    assert_accessible(browser, page)

    people = {person.email: person for person in Subscriber.objects.all()}
    assert sorted(people) == ["ada@example.org", "ben@example.org", "eve@example.org"]
    for person in people.values():
        assert person.status == Subscriber.Status.ACTIVE
        assert timezone.localdate(person.consent_at) == date(2026, 5, 9)
        assert person.lawful_basis_evidence.startswith("signed up at the 2026 walk")
        assert "stated for the whole file at import" in person.lawful_basis_evidence
    assert sorted(t.name for t in people["ada@example.org"].topics.all()) == ["Events", "News"]
    assert [t.slug for t in people["ben@example.org"].topics.all()] == ["get-involved"]
    job = SubscriberImport.objects.get()
    assert (job.report["accepted"], job.report["rejected_count"]) == (3, 3)


def assert_rejections_explained(page) -> None:
    table = page.get_by_role("table", name="Rows not imported")
    rows = table.locator("tbody tr")
    assert rows.count() == 3
    assert rows.nth(0).inner_text().split("\t") == ["4", "Enter a valid email address."]
    assert rows.nth(1).inner_text().split("\t") == [
        "5",
        "unknown topic 'Gossip' (the topics are: News, Events, Education, Get involved)",
    ]
    assert rows.nth(2).inner_text().split("\t") == [
        "6",
        "duplicate of row 2 (the same email address)",
    ]
