import csv
import datetime
import io

import pytest
from django.core.management import CommandError, call_command

from newsletter.models import Subscriber
from newsletter.subscribers import subscriptions
from tests.factories import SubscriberFactory, subscriber_table

GOOD_AND_BAD = """email,first_name,topics,consent,consent_at,consent_source
ada@example.org,Ada,news events,yes,2025-03-01,paper form at the walk
BEN@Example.org,Ben,,,,
not-an-address,Cy,news,yes,2025-03-01,
dee@example.org,"Dee
Bcc: x@example.org",news,yes,2025-03-01,
eve@example.org,Eve,gossip,yes,2025-03-01,
ada@example.org,Ada again,news,yes,2025-03-01,
fay@example.org,Fay,news,yes,,
known@example.org,Known,news,yes,2025-03-01,
erased@example.org,Gone,news,yes,2025-03-01,
gus@example.org,Gus,education;get-involved,no,2025-03-01,
"""


@pytest.fixture
def csv_file(tmp_path, topics):
    def write(text):
        path = tmp_path / "people.csv"
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def existing(topics):
    SubscriberFactory(email="known@example.org", active=True)
    gone = SubscriberFactory(email="erased@example.org", active=True)
    subscriptions.erase(subscriber_id=gone.pk)


def run(*args):
    out = io.StringIO()
    call_command("import_subscribers", *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_it_imports_good_rows_and_reports_each_rejected_row_with_its_row_number(csv_file, existing):
    report = run(csv_file(GOOD_AND_BAD))

    # Numbered as a spreadsheet shows them: Dee's two-line name is one row.
    assert "row 4: rejected: Enter a valid email address." in report
    assert "row 5: rejected: A name cannot contain line breaks" in report
    assert "row 6: rejected: unknown topic 'gossip' (the topics are: News, Events," in report
    assert "row 7: rejected: duplicate of row 2" in report
    assert "row 8: rejected: consent is “yes” but there is no consent date" in report
    assert "row 9: already subscribed" in report
    assert "row 10: suppressed" in report
    assert (
        "Imported 3 (1 active, 2 pending); rejected 5; already subscribed 1; suppressed 1."
        in report
    )

    ada = Subscriber.objects.get(email="ada@example.org")
    assert ada.status == Subscriber.Status.ACTIVE
    assert ada.confirmed_at is not None
    assert ada.consent_at.date().isoformat() == "2025-03-01"
    assert ada.consent_source == "paper form at the walk"
    assert sorted(t.slug for t in ada.topics.all()) == ["events", "news"]
    ben = Subscriber.objects.get(email="ben@example.org")
    assert ben.status == Subscriber.Status.PENDING  # no consent recorded in the file
    assert ben.topics.count() == 4
    gus = Subscriber.objects.get(email="gus@example.org")
    assert gus.status == Subscriber.Status.PENDING
    assert sorted(t.slug for t in gus.topics.all()) == ["education", "get-involved"]
    assert not Subscriber.objects.filter(email="erased@example.org").exists()


def test_a_dry_run_reports_and_stores_nothing(csv_file, existing):
    before = subscriber_table()

    report = run(csv_file(GOOD_AND_BAD), "--dry-run")

    assert "Would import 3 (1 active, 2 pending); rejected 5;" in report
    assert subscriber_table() == before


def test_it_sends_no_email_to_imported_people(csv_file, topics, mailoutbox):
    run(csv_file("email\nnew@example.org\n"))

    assert mailoutbox == []


def test_it_refuses_a_file_without_an_email_column(csv_file, topics):
    with pytest.raises(CommandError, match="email"):
        run(csv_file("name,address\nAda,ada@example.org\n"))


def test_it_refuses_a_file_that_is_not_utf8(tmp_path, topics):
    path = tmp_path / "latin.csv"
    path.write_bytes("email,first_name\nzoe@example.org,Zoë\n".encode("latin-1"))

    with pytest.raises(CommandError, match="UTF-8"):
        run(str(path))
    assert Subscriber.objects.count() == 0


def test_it_shows_a_progress_bar(csv_file, topics, capsys):
    call_command("import_subscribers", csv_file("email\na@example.org\nb@example.org\n"))

    assert "2/2" in capsys.readouterr().err
    assert Subscriber.objects.count() == 2


def test_export_writes_csv_to_stdout(topics):
    SubscriberFactory(
        email="ann@example.org", first_name="=HYPERLINK(1)", active=True, topics=[topics["news"]]
    )
    out = io.StringIO()

    call_command("export_subscribers", stdout=out)

    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert row["email"] == "ann@example.org"
    assert row["status"] == "active"
    assert row["topics"] == "news"
    assert row["first_name"] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet


def test_export_to_a_file_filters_by_status_and_imports_back(tmp_path, topics):
    SubscriberFactory(email="on@example.org", active=True, topics=[topics["events"]])
    SubscriberFactory(email="off@example.org", unsubscribed=True)
    path = tmp_path / "out.csv"

    call_command(
        "export_subscribers", "--output", str(path), "--status", "active", stderr=io.StringIO()
    )
    Subscriber.objects.all().delete()
    report = run(str(path))

    assert "Imported 1 (1 active, 0 pending)" in report
    (again,) = Subscriber.objects.all()
    assert (again.email, again.status) == ("on@example.org", Subscriber.Status.ACTIVE)
    assert [t.slug for t in again.topics.all()] == ["events"]


def test_the_formula_guard_of_an_export_does_not_come_back_on_import(tmp_path, topics):
    people = {"-dash@example.org": "-Dash", "+plus@example.org": "+Plus", "=eq@example.org": "Eq"}
    for email, name in people.items():
        SubscriberFactory(email=email, first_name=name, active=True, topics=[topics["news"]])
    path = tmp_path / "out.csv"
    call_command("export_subscribers", "--output", str(path), stderr=io.StringIO())
    assert "'-dash@example.org" in path.read_text()  # guarded in the file
    Subscriber.objects.all().delete()

    report = run(str(path))

    assert "Imported 3 (3 active, 0 pending); rejected 0;" in report
    assert dict(Subscriber.objects.values_list("email", "first_name")) == people


def test_an_apostrophe_that_is_no_guard_stays(csv_file):
    run(csv_file("email,first_name\no'hara@example.org,'Tis\n"))

    assert list(Subscriber.objects.values_list("email", "first_name")) == [
        ("o'hara@example.org", "'Tis")
    ]


SOFT_OPT_IN = """email,consent_at,lawful_basis,lawful_basis_evidence
new@example.org,2026-03-02,charity-soft-opt-in,"Donated at the 2026-03-02 walk; opt-out box offered"
old@example.org,2025-03-02,charity-soft-opt-in,"Donated at the 2025 walk; opt-out box offered"
bare@example.org,2026-03-02,charity-soft-opt-in,
odd@example.org,2026-03-02,legitimate-interest,"a list we bought"
"""


def test_the_charity_soft_opt_in_needs_evidence_and_a_contact_collected_since_it_applies(
    csv_file, settings
):
    settings.CHARITY_SOFT_OPT_IN_FROM = datetime.date(2026, 2, 5)

    report = run(csv_file(SOFT_OPT_IN))

    assert "row 3: rejected: the soft opt-in covers only contacts collected on or after" in report
    assert "row 4: rejected: the soft opt-in needs lawful basis evidence" in report
    assert "row 5: rejected: lawful basis 'legitimate-interest' is not one of" in report
    (person,) = Subscriber.objects.all()
    assert person.email == "new@example.org"
    assert person.status == Subscriber.Status.ACTIVE
    assert person.lawful_basis == Subscriber.LawfulBasis.CHARITY_SOFT_OPT_IN
    assert person.lawful_basis_evidence.startswith("Donated at the 2026-03-02 walk")


def test_without_a_start_date_no_one_is_imported_on_the_soft_opt_in(csv_file, settings):
    settings.CHARITY_SOFT_OPT_IN_FROM = None

    report = run(csv_file(SOFT_OPT_IN))

    assert "row 2: rejected: the charity soft opt-in is not enabled" in report
    assert Subscriber.objects.count() == 0
