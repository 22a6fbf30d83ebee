"""Importing subscribers in admin: upload, columns, dry run, import; the same service as
`manage.py import_subscribers`, refused to hostile files and to roles that may not add people."""

import io
import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from newsletter import tasks
from newsletter.models import AuditEvent, Subscriber, SubscriberImport
from newsletter.subscribers import import_file, imports, retention, subscriptions
from tests.factories import SubscriberFactory, subscriber_table

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:newsletter_subscriber_import")

# "Work e-mail" is no header the import recognises: staff say it holds the address.
ODD = """Work e-mail,First name,Topics,Consent,Consent date,Heard of us at,Zone
ada@example.org,Ada,news events,yes,2025-03-01,the walk,Europe/London
ben@example.org,Ben,,,,,
not-an-address,Cy,news,yes,2025-03-01,,
known@example.org,Known,news,yes,2025-03-01,,
erased@example.org,Gone,news,yes,2025-03-01,,
dee@example.org,=cmd|' /C calc'!A0,news,,,,
eve@example.org,Eve,news,,,,Mars/Olympus
"""
ODD_MAPPING = {
    "column_0": "email",
    "column_1": "first_name",
    "column_2": "topics",
    "column_3": "consent",
    "column_4": "consent_at",
    "column_5": "consent_source",
    "column_6": "time_zone",
}


def user_in(role: str) -> User:
    user = User.objects.create_user(role.replace(" ", "-"), is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def manager(client, topics):
    user = user_in("subscriber manager")
    client.force_login(user)
    return user


@pytest.fixture
def existing(topics):
    SubscriberFactory(email="known@example.org", active=True)
    gone = SubscriberFactory(email="erased@example.org", active=True)
    subscriptions.erase(subscriber_id=gone.pk)


def upload(client, content, name="people.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data, "text/csv")})


def dry_run(client, content, mapping=None):
    response = upload(client, content)
    assert response.status_code == 302, response.content.decode()[:2000]
    job = SubscriberImport.objects.latest("id")
    assert response["Location"] == reverse("admin:newsletter_subscriber_import_map", args=[job.pk])
    url = reverse("admin:newsletter_subscriber_import_map", args=[job.pk])
    if mapping is None:
        mapping = {f"column_{i}": name for i, name in enumerate(job.mapping)}
    response = client.post(url, mapping)
    assert response.status_code == 302, response.content.decode()[:2000]
    job.refresh_from_db()
    return job, client.get(response["Location"])


def start(client, job, capture):
    with capture(execute=True):
        response = client.post(reverse("admin:newsletter_subscriber_import_job", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    return client.get(response["Location"])


def comparable(rows: list[dict]) -> list[dict]:
    """What an import decides about each person: not ids or the moment it ran."""
    moments = {"id", "created_at", "updated_at", "confirmed_at"}
    return sorted(
        ({k: v for k, v in row.items() if k not in moments} for row in rows),
        key=lambda row: row["email"],
    )


def test_the_subscriber_list_links_to_the_import(client, manager):
    response = client.get(reverse("admin:newsletter_subscriber_changelist"))
    assert f'href="{UPLOAD}">Import subscribers</a>' in response.content.decode()


def test_the_columns_are_guessed_from_their_names_and_an_odd_one_is_left_to_staff(client, manager):
    upload(client, ODD)
    job = SubscriberImport.objects.get()
    assert job.mapping == ["", "first_name", "topics", "consent", "consent_at", "", "time_zone"]
    page = client.get(reverse("admin:newsletter_subscriber_import_map", args=[job.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "Work e-mail" in content and "First row: ada@example.org" in content


def test_a_dry_run_reports_every_row_and_changes_nothing(client, manager, existing):
    before = subscriber_table()

    job, page = dry_run(client, ODD, ODD_MAPPING)

    content = page.content.decode()
    assert page.status_code == 200
    assert job.status == SubscriberImport.Status.CHECKED
    assert job.dry_run["accepted"] == 2
    assert (job.dry_run["already_count"], job.dry_run["suppressed_count"]) == (1, 1)
    assert "<td>4</td><td>Enter a valid email address.</td>" in content
    assert "<td>5</td><td>already subscribed</td>" in content
    assert "<td>6</td><td>suppressed: bounced, complained, unsubscribed or erased</td>" in content
    assert "<td>7</td><td>First name starts with “=”: a spreadsheet formula</td>" in content
    assert "<td>8</td><td>time zone &#x27;Mars/Olympus&#x27; is not a known zone" in content
    assert 'value="Import 2 subscribers"' in content
    assert subscriber_table() == before


def test_the_import_writes_the_accepted_rows_audits_and_deletes_the_file(
    client, manager, existing, django_capture_on_commit_callbacks
):
    job, _ = dry_run(client, ODD, ODD_MAPPING)

    page = start(client, job, django_capture_on_commit_callbacks)

    assert job.status == SubscriberImport.Status.DONE
    assert "Import finished" in page.content.decode()
    assert (job.rows_done, job.report["accepted"]) == (7, 2)
    assert job.data == ""  # the people in the file are in the list now, or nowhere
    ada = Subscriber.objects.get(email="ada@example.org")
    assert (ada.status, ada.consent_source, ada.time_zone) == (
        "active",
        "the walk",
        "Europe/London",
    )
    assert sorted(ada.topics.values_list("slug", flat=True)) == ["events", "news"]
    assert Subscriber.objects.get(email="ben@example.org").status == "pending"
    assert not Subscriber.objects.filter(email="dee@example.org").exists()
    (event,) = AuditEvent.objects.filter(action="import")
    assert (event.actor, event.target) == (manager, "2 subscribers")
    assert event.details["rejected"] == 3
    assert AuditEvent.objects.filter(action="import started", actor=manager).exists()


def test_importing_the_same_file_again_changes_nothing(
    client, manager, existing, django_capture_on_commit_callbacks
):
    first, _ = dry_run(client, ODD, ODD_MAPPING)
    start(client, first, django_capture_on_commit_callbacks)
    after_first = subscriber_table()

    again, page = dry_run(client, ODD, ODD_MAPPING)
    assert again.dry_run["accepted"] == 0
    assert again.dry_run["already_count"] == 3
    assert "Nothing to import." in page.content.decode()
    start(client, again, django_capture_on_commit_callbacks)  # pressed anyway: nothing to start

    assert subscriber_table() == after_first


def test_the_admin_and_the_command_import_a_file_alike(
    client, manager, existing, tmp_path, django_capture_on_commit_callbacks
):
    text = ODD.replace("Work e-mail", "email")  # the command guesses; admin is given the same
    job, _ = dry_run(client, text)
    start(client, job, django_capture_on_commit_callbacks)
    by_admin = comparable(subscriber_table())
    Subscriber.objects.filter(email__in=["ada@example.org", "ben@example.org"]).delete()
    path = tmp_path / "people.csv"
    path.write_text(text)
    out = io.StringIO()

    call_command("import_subscribers", str(path), "--no-progress", stdout=out)

    assert comparable(subscriber_table()) == by_admin
    assert "Imported 2 (1 active, 1 pending); rejected 3;" in out.getvalue()


def test_the_command_maps_an_odd_column_with_map(existing, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(ODD)
    out = io.StringIO()

    call_command(
        "import_subscribers", str(path), "--map", "Work e-mail=email", "--dry-run", stdout=out
    )

    assert "Would import 2 (1 active, 1 pending); rejected 3;" in out.getvalue()
    assert not Subscriber.objects.filter(email="ada@example.org").exists()


def test_the_command_explains_its_columns_in_its_help(capsys):
    with pytest.raises(SystemExit):
        call_command("import_subscribers", "--help")
    text = capsys.readouterr().out
    assert "time_zone" in text and "Consent date" in text and "HEADER=FIELD" in text
    assert "docstring" not in text


HOSTILE = {
    "latin-1": ("email,first_name\nzoe@example.org,Zoë\n".encode("latin-1"), "not UTF-8 text"),
    "an image": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV file"),
    "empty": (b"", "The submitted file is empty."),
    "a blank header": (b"\n\n", "needs a header row"),
    "a header with a line break": (
        b'email,"first\nname"\na@example.org,A\n',
        "A column name contains line breaks",
    ),
    "a formula for a header": (
        b'email,=HYPERLINK("http://evil")\na@example.org,A\n',
        "is a spreadsheet formula",
    ),
    "an unterminated quote at the end": (b'email\n"a@example.org', "not a readable CSV file"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_file_is_refused_with_a_field_error(client, manager, existing, name):
    data, says = HOSTILE[name]
    before = subscriber_table()

    response = upload(client, data)

    assert response.status_code == 400
    assert says in response.content.decode()
    assert 'class="errorlist' in response.content.decode()
    assert SubscriberImport.objects.count() == 0
    assert subscriber_table() == before


def test_an_oversize_file_is_refused(client, manager):
    big = b"email\n" + b"someone@example.org\n" * (import_file.MAX_BYTES // 20 + 1)
    assert len(big) > import_file.MAX_BYTES

    response = upload(client, big)

    assert response.status_code == 400
    assert "The file is larger than 10 MB." in response.content.decode()
    assert SubscriberImport.objects.count() == 0


def test_a_file_with_too_many_rows_is_refused(client, manager, monkeypatch):
    monkeypatch.setattr(import_file, "MAX_ROWS", 2)

    response = upload(client, "email\na@example.org\nb@example.org\nc@example.org\n")

    assert response.status_code == 400
    assert "The file has more than 2 rows." in response.content.decode()


def test_without_an_email_column_the_columns_page_says_so(client, manager):
    upload(client, "name,address\nAda,ada@example.org\n")
    job = SubscriberImport.objects.get()
    url = reverse("admin:newsletter_subscriber_import_map", args=[job.pk])

    response = client.post(url, {"column_0": "first_name", "column_1": ""})

    assert response.status_code == 400
    assert "Choose the column that holds the email addresses." in response.content.decode()
    job.refresh_from_db()
    assert job.status == SubscriberImport.Status.UPLOADED
    two = client.post(url, {"column_0": "email", "column_1": "email"})
    assert "Two columns are marked “Email address”" in two.content.decode()
    assert Subscriber.objects.count() == 0


def test_a_file_of_formulas_imports_no_one(
    client, manager, topics, django_capture_on_commit_callbacks
):
    job, page = dry_run(client, "email,first_name\n=cmd|' /C calc'!A0,x\n@SUM(A1),y\n")
    assert job.dry_run["rejected"] == [
        [2, "Email address starts with “=”: a spreadsheet formula"],
        [3, "Email address starts with “@”: a spreadsheet formula"],
    ]
    assert "Nothing to import." in page.content.decode()
    start(client, job, django_capture_on_commit_callbacks)
    assert Subscriber.objects.count() == 0


ROUTES = ["import", "sample", "map", "job", "progress"]


def route_url(route: str, job) -> str:
    name = {
        "import": "newsletter_subscriber_import",
        "sample": "newsletter_subscriber_import_sample",
        "map": "newsletter_subscriber_import_map",
        "job": "newsletter_subscriber_import_job",
        "progress": "newsletter_subscriber_import_progress",
    }[route]
    return reverse(f"admin:{name}", args=[] if route in ("import", "sample") else [job.pk])


@pytest.mark.parametrize("role", ["editor", "sender"])
def test_editors_and_senders_are_refused_every_import_route(client, topics, role):
    job = imports.create_job(data=b"email\nada@example.org\n", filename="x.csv")
    imports.job_check(job, ["email"])
    client.force_login(user_in(role))

    for route in ROUTES:
        url = route_url(route, job)
        assert client.get(url).status_code == 403, url
        posted = client.post(url, {"file": SimpleUploadedFile("x.csv", b"email\nb@example.org\n")})
        assert posted.status_code == 403, url

    assert SubscriberImport.objects.count() == 1
    assert SubscriberImport.objects.get().status == SubscriberImport.Status.CHECKED
    assert Subscriber.objects.count() == 0


def test_the_progress_json_tells_how_far_the_import_is(client, manager):
    job = imports.create_job(data=b"email\nada@example.org\nben@example.org\n", filename="x.csv")
    SubscriberImport.objects.filter(pk=job.pk).update(status="running", rows_done=1)

    figures = client.get(route_url("progress", job)).json()

    assert figures == {
        "status": "running",
        "rows_done": 1,
        "rows_total": 2,
        "percent": 50.0,
        "imported": 0,
        "finished": False,
    }


def test_an_import_page_while_running_refreshes_itself_without_javascript(client, manager):
    job = imports.create_job(data=b"email\nada@example.org\n", filename="x.csv")
    SubscriberImport.objects.filter(pk=job.pk).update(status="queued")

    content = client.get(route_url("job", job)).content.decode()

    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in content
    assert '<progress id="import-progress" value="0" max="1"' in content


def test_an_interrupted_import_resumes_after_the_last_chunk_written(topics, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    rows = "".join(f"p{i}@example.org\n" for i in range(5))
    job = imports.create_job(data=f"email\n{rows}p0@example.org\n".encode(), filename="x.csv")
    job.mapping, job.status = ["email"], SubscriberImport.Status.QUEUED
    job.save()

    class WorkerDied(Exception):
        pass

    def die(rows):
        raise WorkerDied

    with pytest.raises(WorkerDied):
        imports.run_job(job.pk, on_progress=die)  # after the first chunk was written
    assert (Subscriber.objects.count(), SubscriberImport.objects.get().rows_done) == (2, 2)

    report = imports.run_job(job.pk)

    assert (report.total, report.accepted, report.already_count) == (6, 5, 0)
    assert report.rejected == [(7, "duplicate of row 2 (the same email address)")]
    assert Subscriber.objects.count() == 5


def test_an_upload_never_imported_is_deleted_after_a_day(topics):
    job = imports.create_job(data=b"email\nada@example.org\n", filename="x.csv")
    fresh = imports.create_job(data=b"email\nben@example.org\n", filename="y.csv")
    SubscriberImport.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )

    assert retention.strip_import_files() == 1

    job.refresh_from_db()
    assert (job.data, job.status) == ("", SubscriberImport.Status.FAILED)
    assert SubscriberImport.objects.get(pk=fresh.pk).data != ""
    assert imports.job_queue(job) is False


def test_an_import_that_fails_says_so_and_drops_the_file(topics, monkeypatch):
    job = imports.create_job(data=b"email\nada@example.org\n", filename="x.csv")
    imports.job_check(job, ["email"])
    imports.job_queue(job)

    def broken(job_id, on_progress=None):
        raise RuntimeError("a bug")

    monkeypatch.setattr(imports, "run_job", broken)
    with pytest.raises(RuntimeError):
        tasks.import_subscribers.delay(job.pk)

    job.refresh_from_db()
    assert (job.status, job.data) == (SubscriberImport.Status.FAILED, "")
    assert "The import stopped on an error" in job.error


def test_the_report_never_repeats_an_address_from_a_column_mapped_wrongly(client, manager):
    job, page = dry_run(
        client,
        "email,other\nada@example.org,ben@example.org\n",
        {"column_0": "email", "column_1": "topics"},
    )

    [(row, reason)] = job.dry_run["rejected"]
    assert (row, reason.split(" (the topics")[0]) == (
        2,
        "unknown topic (an email address: check the columns)",
    )
    assert "ben@example.org" not in page.content.decode()


def test_the_upload_page_lists_recent_imports(client, manager):
    dry_run(client, "email\nada@example.org\n")

    page = client.get(UPLOAD).content.decode()

    assert "Recent imports" in page and "“people.csv”" in page and ": checked" in page


@pytest.mark.django_db(transaction=True)
def test_a_signup_between_the_check_and_the_write_is_counted_as_already_subscribed(
    topics, monkeypatch
):
    job = imports.create_job(data=b"email\nada@example.org\nben@example.org\n", filename="x.csv")
    imports.job_check(job, ["email"])
    imports.job_queue(job)
    write = imports._write

    def signup():  # committed by another connection, as the signup's worker would
        SubscriberFactory(email="ada@example.org", first_name="Ada herself")
        connection.close()

    def ada_signs_up_first(candidates):
        if len(candidates) == 2:
            thread = threading.Thread(target=signup)
            thread.start()
            thread.join()
        write(candidates)

    monkeypatch.setattr(imports, "_write", ada_signs_up_first)

    report = imports.run_job(job.pk)

    assert (report.accepted, report.already, report.rejected) == (1, [2], [])
    assert Subscriber.objects.get(email="ada@example.org").first_name == "Ada herself"
    assert Subscriber.objects.filter(email="ben@example.org").exists()
