"""What a comms officer's CSV needs to come in (issue 26): at most 100 columns, refused at the
upload; topics by the names the admin shows; one consent date (and how) stated for the whole file,
a row's own date winning; the upload page's sample file and its table of columns."""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from newsletter.models import Subscriber, SubscriberImport, Topic
from newsletter.subscribers import import_file, imports
from newsletter.subscribers.import_file import FileConsent, ImportFileError, Rejected
from newsletter.subscribers.subscriptions import export_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(subscriber_manager, topics):
    return subscriber_manager


UPLOAD = reverse("admin:newsletter_subscriber_import")
WALK = date(2026, 5, 9)

# As a CRM exports it: no consent column, no consent-date column.
CRM = """First Name,Email Address,Topics
Ada,ada@example.org,News; Events
Ben,ben@example.org,get involved
Cy,cy@example.org,"education, NEWS"
"""


def upload(client, content: str):
    return client.post(
        UPLOAD, {"file": SimpleUploadedFile("crm.csv", content.encode(), "text/csv")}
    )


def map_page(job) -> str:
    return reverse("admin:newsletter_subscriber_import_map", args=[job.pk])


def walk() -> FileConsent:
    return import_file.file_consent(WALK, "signed up at the 2026 walk")


def lookup():
    return import_file.topic_lookup(Topic.objects.all())


# --- The column cap ---------------------------------------------------------------------------


def header(columns: int) -> str:
    return ",".join(["email"] + [f"extra {i}" for i in range(columns - 1)])


def test_a_file_of_100_columns_is_read():
    table = import_file.read_csv(f"{header(100)}\nada@example.org\n".encode())

    assert len(table.headers) == 100


def test_a_file_of_101_columns_is_refused_saying_the_limit():
    with pytest.raises(ImportFileError, match="101 columns; an import reads at most 100"):
        import_file.read_csv(f"{header(101)}\nada@example.org\n".encode())


def test_a_20000_column_upload_gets_an_error_and_no_column_page(client, manager):
    wide = ",".join(f"c{i}" for i in range(20_000)) + "\n" + "x," * 19_999 + "x\n"

    response = upload(client, wide)

    assert response.status_code == 400
    page = response.content.decode()
    assert "The file has 20,000 columns; an import reads at most 100." in page
    assert len(page) < 100_000
    assert SubscriberImport.objects.count() == 0  # nothing stored, so no column page to build


def test_an_upload_stored_before_the_cap_is_stopped_not_a_500(client, manager):
    job = SubscriberImport.objects.create(
        filename="old.csv", data=f"{header(150)}\nada@example.org\n", headers=["email"] * 150
    )

    response = client.get(map_page(job))

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == SubscriberImport.Status.FAILED
    assert "at most 100" in job.error


# --- Topics by name or slug -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell, slugs",
    [
        ("News; Events", ["news", "events"]),
        ("news,events", ["news", "events"]),
        ("NEWS ;  events", ["news", "events"]),
        ("Get involved", ["get-involved"]),
        ("get-involved, Education", ["get-involved", "education"]),
        ("news events", ["news", "events"]),  # our own export's slugs separated by spaces
        ("News; news", ["news"]),
    ],
)
def test_topics_are_read_by_name_or_slug_in_any_case(topics, cell, slugs):
    assert [topic.slug for topic in import_file.topics_in(cell, lookup())] == slugs


def test_an_empty_topics_cell_means_every_topic(topics):
    assert len(import_file.topics_in("  ", lookup())) == Topic.objects.count()


def test_an_unknown_topic_is_named_with_the_topics_there_are(topics):
    with pytest.raises(Rejected) as rejected:
        import_file.topics_in("News; Gossip", lookup())

    assert str(rejected.value) == (
        "unknown topic 'Gossip' (the topics are: News, Events, Education, Get involved)"
    )


# --- Consent stated for the whole file, and a row's own date ----------------------------------


def read(row: dict, statement=None) -> dict:
    return import_file.read_row(row, lookup(), statement)


def test_a_file_consent_date_makes_rows_without_one_active_and_says_where_it_came_from(topics):
    person = read({"email": "ada@example.org", "topics": "News; Events"}, walk())

    assert person["status"] == Subscriber.Status.ACTIVE
    assert person["consent_at"].date() == WALK
    assert person["lawful_basis_evidence"] == (
        "signed up at the 2026 walk (stated for the whole file at import); "
        "consent date 2026-05-09 stated for the whole file at import, not in the row"
    )


def test_a_row_date_wins_over_the_file_date(topics):
    person = read(
        {"email": "ada@example.org", "consent": "yes", "consent_at": "2025-03-01"}, walk()
    )

    assert person["status"] == Subscriber.Status.ACTIVE
    assert person["consent_at"].date() == date(2025, 3, 1)
    assert person["lawful_basis_evidence"].endswith("; consent date from the row")


def test_a_row_evidence_wins_over_the_file_via(topics):
    person = read({"email": "ada@example.org", "lawful_basis_evidence": "paper form"}, walk())

    assert person["lawful_basis_evidence"].startswith("paper form; consent date 2026-05-09")


def test_a_row_that_says_no_stays_pending_under_a_file_statement(topics):
    person = read({"email": "ada@example.org", "consent": "no"}, walk())

    assert person["status"] == Subscriber.Status.PENDING


def test_consent_without_any_date_is_rejected_saying_how_to_give_one(topics):
    with pytest.raises(Rejected, match="give one date for the whole file on the columns page"):
        read({"email": "ada@example.org", "consent": "yes"})


def test_a_file_statement_needs_both_a_plausible_date_and_how():
    assert import_file.file_consent(None, " ") is None
    with pytest.raises(ImportFileError, match="Say how these people consented"):
        import_file.file_consent(WALK, "")
    with pytest.raises(ImportFileError, match="Give the date"):
        import_file.file_consent(None, "at the walk")
    tomorrow = timezone.localdate() + timedelta(days=2)
    with pytest.raises(ImportFileError, match="not a plausible consent date"):
        import_file.file_consent(tomorrow, "at the walk")


def test_the_columns_page_records_the_file_statement_on_each_subscriber(
    client, manager, django_capture_on_commit_callbacks
):
    assert upload(client, CRM).status_code == 302
    job = SubscriberImport.objects.get()
    assert job.mapping == ["first_name", "email", "topics"]
    mapping = {f"column_{i}": name for i, name in enumerate(job.mapping)}

    response = client.post(
        map_page(job),
        {**mapping, "consent_on": "2026-05-09", "consent_via": "signed up at the 2026 walk"},
    )

    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "these people consented on 9 May 2026 via “signed up at the 2026 walk”" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:newsletter_subscriber_import_job", args=[job.pk]))
    people = {person.email: person for person in Subscriber.objects.all()}
    assert sorted(people) == ["ada@example.org", "ben@example.org", "cy@example.org"]
    assert {person.status for person in people.values()} == {Subscriber.Status.ACTIVE}
    assert {timezone.localdate(person.consent_at) for person in people.values()} == {WALK}
    assert all(
        "stated for the whole file at import" in person.lawful_basis_evidence
        for person in people.values()
    )
    assert sorted(t.slug for t in people["cy@example.org"].topics.all()) == ["education", "news"]


def test_the_columns_page_refuses_a_date_without_how(client, manager):
    upload(client, CRM)
    job = SubscriberImport.objects.get()
    mapping = {f"column_{i}": name for i, name in enumerate(job.mapping)}

    response = client.post(map_page(job), {**mapping, "consent_on": "2026-05-09"})

    assert response.status_code == 400
    assert "Say how these people consented" in response.content.decode()
    job.refresh_from_db()
    assert job.status == SubscriberImport.Status.UPLOADED


def test_without_a_statement_a_consented_row_without_a_date_is_explained(client, manager):
    upload(client, "email,consent\nada@example.org,yes\n")
    job = SubscriberImport.objects.get()

    response = client.post(map_page(job), {"column_0": "email", "column_1": "consent"})

    page = client.get(response["Location"]).content.decode()
    assert "give one date for the whole file on the columns page" in page


def test_the_command_takes_the_file_statement(topics, tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(CRM, encoding="utf-8")

    out = io.StringIO()
    call_command(
        "import_subscribers",
        str(path),
        "--consent-date=2026-05-09",
        "--consent-via=signed up at the 2026 walk",
        "--no-progress",
        stdout=out,
    )

    assert "Imported 3 (3 active, 0 pending)" in out.getvalue()
    assert {timezone.localdate(s.consent_at) for s in Subscriber.objects.all()} == {WALK}


def test_the_reader_s_data_download_says_their_consent_date_came_from_the_file(topics, tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(CRM, encoding="utf-8")
    call_command(
        "import_subscribers",
        str(path),
        "--consent-date=2026-05-09",
        "--consent-via=signed up at the 2026 walk",
        "--no-progress",
        stdout=io.StringIO(),
    )

    download = export_data(Subscriber.objects.get(email="ada@example.org"))

    assert timezone.localdate(datetime.fromisoformat(download["consent"]["at"])) == WALK
    assert download["consent"]["source"] == "import"
    assert "stated for the whole file at import" in download["lawful_basis_evidence"]


# --- The sample file and the columns it understands -------------------------------------------


def test_the_upload_page_links_a_sample_and_explains_the_columns(client, manager):
    page = client.get(UPLOAD).content.decode()

    assert reverse("admin:newsletter_subscriber_import_sample") in page
    assert "Columns the import understands" in page
    assert "Topic names (as the admin shows them)" in page


def test_the_sample_file_is_read_as_it_is_and_imports_every_row(client, manager):
    response = client.get(reverse("admin:newsletter_subscriber_import_sample"))

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    data = response.content
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0] == ["Email", "First name", "Topics", "Consent", "Consent date", "Evidence"]
    table = import_file.read_csv(data)
    mapping = import_file.guess_mapping(table.headers)
    assert mapping == [
        "email",
        "first_name",
        "topics",
        "consent",
        "consent_at",
        "lawful_basis_evidence",
    ]
    report = imports.check(table, mapping)
    assert (report.accepted, report.active, report.rejected_count) == (2, 2, 0)
