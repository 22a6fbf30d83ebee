"""Importing subscribers from a CSV file: the one service the admin's import and
`manage.py import_subscribers` share.

The steps: `read_csv` (bytes → a Table, or ImportFileError), `guess_mapping` / `check_mapping`
(which column holds which field), `check` (every row read and judged against the database:
accepted, rejected with its reason, already subscribed, suppressed; nothing written) and `run_job`
(the same judgement, chunk by chunk, writing the accepted rows and recording progress on the
SubscriberImport). Rows are numbered as a spreadsheet numbers them: the header is row 1.

A row becomes active only when the file records consent: `consent` is yes and `consent_at` says
when; or, for a charity's supporter, the soft opt-in (lawful_basis charity-soft-opt-in): evidence
of how the details were collected and the opt-out offered then, and a `consent_at` (when they were
collected) on or after CHARITY_SOFT_OPT_IN_FROM. Any other row is imported as pending, and no email
is sent to it. Addresses already subscribed, suppressed or erased are left alone, as are duplicates
within the file, so importing the same file again changes nothing.
"""

import contextlib
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from newsletter.models import Subscriber, SubscriberImport, Topic
from newsletter.staff import audit
from newsletter.subscribers import policy
from newsletter.subscribers.addresses import clean_name, normalise_email
from newsletter.subscribers.csvfiles import spreadsheet_value

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
CHUNK_ROWS = 500
# How many row numbers a report lists of each kind (rejected, already, …); counts are exact.
LISTED = 1000

# What a column can be: (field, label, header names it is guessed from, compared without case,
# spaces or punctuation). "" ignores the column.
FIELDS = [
    ("email", "Email address", ["email", "emailaddress", "mail", "emailaddr"]),
    ("first_name", "First name", ["firstname", "first", "forename", "givenname", "name"]),
    ("topics", "Topics", ["topics", "topic", "interests", "lists"]),
    ("consent", "Consent given (yes/no)", ["consent", "consented", "optin", "optedin"]),
    (
        "consent_at",
        "Consent date",
        ["consentat", "consentdate", "consentedat", "optindate", "dateofconsent", "signedupat"],
    ),
    ("consent_source", "Consent source", ["consentsource", "source", "signupsource"]),
    ("consent_version", "Consent wording version", ["consentversion", "wordingversion"]),
    ("lawful_basis", "Lawful basis", ["lawfulbasis", "basis"]),
    ("lawful_basis_evidence", "Lawful basis evidence", ["lawfulbasisevidence", "evidence"]),
    ("time_zone", "Time zone", ["timezone", "tz", "zone"]),
]
IGNORE = ""
CHOICES = [(IGNORE, "Ignore this column"), *((name, label) for name, label, _ in FIELDS)]
LABELS = dict(CHOICES)

# A cell that starts with one of these runs as a formula in a spreadsheet (=cmd|' /C calc'!A0).
FORMULA = "=+-@"
TRUE_VALUES = {"yes", "y", "true", "1"}
# Consent cannot be older than the web, nor given tomorrow.
EARLIEST_CONSENT = datetime(1990, 1, 1, tzinfo=UTC)


class ImportFileError(ValueError):
    """The file as a whole cannot be imported: nothing is read from it."""


class Rejected(Exception):
    """One row cannot be imported, for the reason given."""


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (spreadsheet row number, cells)


@dataclass
class Report:
    """What a check or an import found: counts, and the row numbers (reasons) behind them."""

    total: int = 0
    accepted: int = 0
    active: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    rejected_count: int = 0
    already: list[int] = field(default_factory=list)
    already_count: int = 0
    suppressed: list[int] = field(default_factory=list)
    suppressed_count: int = 0

    def note(self, kind: str, row: int, reason: str = "") -> None:
        listed = getattr(self, kind)
        if len(listed) < LISTED:
            listed.append((row, reason) if kind == "rejected" else row)
        setattr(self, f"{kind}_count", getattr(self, f"{kind}_count") + 1)

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "accepted": self.accepted,
            "active": self.active,
            "pending": self.accepted - self.active,
            "rejected": [list(pair) for pair in self.rejected],
            "rejected_count": self.rejected_count,
            "already": self.already,
            "already_count": self.already_count,
            "suppressed": self.suppressed,
            "suppressed_count": self.suppressed_count,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        report = cls(**{k: v for k, v in data.items() if k != "pending"})
        report.rejected = [tuple(pair) for pair in report.rejected]
        return report


# --- Reading the file -----------------------------------------------------------------------------


def read_csv(data: bytes) -> Table:
    """The header and rows of a CSV file, or ImportFileError saying why it cannot be read."""
    if len(data) > MAX_BYTES:
        raise ImportFileError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if b"\x00" in data:
        raise ImportFileError("This is not a CSV file (it holds binary data).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            "The file is not UTF-8 text. Save it from the spreadsheet as “CSV UTF-8”."
        )
    # Strict: an unclosed quote would otherwise swallow the rest of the file into one cell.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        headers = next(reader, None)
        rows = []
        # Numbered as a spreadsheet shows them: one row per record, blank ones included.
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise ImportFileError(f"The file has more than {MAX_ROWS:,} rows.")
            rows.append((number, cells))
    except csv.Error as error:
        raise ImportFileError(f"This is not a readable CSV file: {error} (line {reader.line_num}).")
    if not headers or not any(name.strip() for name in headers):
        raise ImportFileError("The file is empty: it needs a header row naming its columns.")
    for name in headers:
        _check_header(name)
    return Table(headers=[name.strip() for name in headers], rows=rows)


def _check_header(name: str) -> None:
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in name):
        raise ImportFileError(
            "A column name contains line breaks or control characters: is this the right file?"
        )
    if len(name) > 100:
        raise ImportFileError("A column name is longer than 100 characters: is there a header row?")
    if name.strip()[:1] in FORMULA and len(name.strip()) > 1:
        raise ImportFileError(f"The column name {name!r} is a spreadsheet formula.")


# --- Which column holds what --------------------------------------------------------------------


def _simple(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def guess_mapping(headers: list[str]) -> list[str]:
    """A field (or IGNORE) per column, from the header names; each field for one column at most."""
    taken, mapping = set(), []
    for name in headers:
        simple = _simple(name)
        guess = next(
            (f for f, _, names in FIELDS if simple in names and f not in taken),
            IGNORE,
        )
        taken.add(guess)
        mapping.append(guess)
    return mapping


def check_mapping(mapping: list[str]) -> None:
    """ImportFileError unless one column is the email and no field has two columns."""
    if "email" not in mapping:
        raise ImportFileError("Choose the column that holds the email addresses.")
    chosen = [name for name in mapping if name != IGNORE]
    for name in dict.fromkeys(chosen):
        if chosen.count(name) > 1:
            raise ImportFileError(f"Two columns are marked “{LABELS[name]}”: choose one.")
    unknown = set(chosen) - set(LABELS)
    if unknown:
        raise ImportFileError(f"Unknown field {', '.join(sorted(unknown))}.")


def mapped_rows(table: Table, mapping: list[str]) -> Iterator[tuple[int, dict | str]]:
    """Each row as {field: value} (unguarded), or the reason it cannot be read at all."""
    width = len(table.headers)
    for number, cells in table.rows:
        if any(cell.strip() for cell in cells[width:]):
            yield number, "more values than columns"
            continue
        values = {}
        for name, cell in zip(mapping, cells, strict=False):
            if name == IGNORE:
                continue
            if cell[:1] in FORMULA and len(cell) > 1:
                # Unguarded, a spreadsheet runs it (=cmd|…). A value meant as text is written with
                # a ' before it, as our export does.
                yield number, f"{LABELS[name]} starts with “{cell[0]}”: a spreadsheet formula"
                break
            values[name] = spreadsheet_value(cell)
        else:
            yield number, values


# --- Judging rows ---------------------------------------------------------------------------------


@dataclass
class Judge:
    """Reads rows into subscriber fields, remembering the addresses seen earlier in the file."""

    topics: dict = field(default_factory=lambda: {t.slug: t for t in Topic.objects.all()})
    seen: dict = field(default_factory=dict)

    def read(self, number: int, row: dict | str) -> dict:
        if isinstance(row, str):
            raise Rejected(row)
        candidate = _read_row(row, self.topics)
        if candidate["email"] in self.seen:
            raise Rejected(f"duplicate of row {self.seen[candidate['email']]}")
        self.seen[candidate["email"]] = number
        return candidate


def _judge_chunk(judge: Judge, chunk, report: Report) -> list[dict]:
    """The chunk's accepted candidates; everything else noted on the report."""
    read = []
    for number, row in chunk:
        report.total += 1
        try:
            read.append((number, judge.read(number, row)))
        except Rejected as reason:
            report.note("rejected", number, str(reason))
    emails = [candidate["email"] for _, candidate in read]
    suppressed = policy.listed(emails)
    known = set(Subscriber.objects.filter(email__in=emails).values_list("email", flat=True))
    accepted = []
    for number, candidate in read:
        if candidate["email"] in suppressed:
            report.note("suppressed", number)
        elif candidate["email"] in known:
            report.note("already", number)
        else:
            accepted.append(candidate)
            report.accepted += 1
            report.active += candidate["status"] == Subscriber.Status.ACTIVE
    return accepted


def _chunks(rows: Iterator) -> Iterator[list]:
    size, chunk = CHUNK_ROWS, []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def check(table: Table, mapping: list[str]) -> Report:
    """The dry run: what importing would do, row by row. Writes nothing."""
    check_mapping(mapping)
    judge, report = Judge(), Report()
    for chunk in _chunks(mapped_rows(table, mapping)):
        _judge_chunk(judge, chunk, report)
    return report


# --- Importing ------------------------------------------------------------------------------------


def create_job(*, data: bytes, filename: str, user=None) -> SubscriberImport:
    """A stored upload, read and with its columns guessed; ImportFileError when unreadable."""
    table = read_csv(data)
    return SubscriberImport.objects.create(
        created_by=user if user is not None and user.is_authenticated else None,
        filename=filename[:200],
        data=data.decode("utf-8-sig"),
        headers=table.headers,
        mapping=guess_mapping(table.headers),
        rows_total=len(table.rows),
    )


def job_table(job: SubscriberImport) -> Table:
    return read_csv(job.data.encode())


def job_check(job: SubscriberImport, mapping: list[str]) -> Report:
    """The dry run of a stored upload with this mapping, kept on the job to show and to start."""
    report = check(job_table(job), mapping)
    job.mapping, job.dry_run = mapping, report.as_dict()
    job.status = SubscriberImport.Status.CHECKED
    job.save(update_fields=["mapping", "dry_run", "status", "updated_at"])
    return report


def job_queue(job: SubscriberImport) -> bool:
    """Mark a checked job for the worker; False when it was not waiting to start."""
    Status = SubscriberImport.Status
    return bool(
        SubscriberImport.objects.filter(pk=job.pk, status=Status.CHECKED, data__gt="").update(
            status=Status.QUEUED, updated_at=timezone.now()
        )
    )


def run_job(job_id: int, on_progress: Callable[[int], None] | None = None) -> Report | None:
    """Import a queued (or interrupted) job, a chunk per transaction, progress on the row. A
    redelivered task resumes after the last chunk written; None when there is nothing to do."""
    Status = SubscriberImport.Status
    claimed = SubscriberImport.objects.filter(
        pk=job_id, status__in=[Status.QUEUED, Status.RUNNING]
    ).update(status=Status.RUNNING, updated_at=timezone.now())
    if not claimed:
        return None
    job = SubscriberImport.objects.get(pk=job_id)
    if job.started_at is None:
        job.started_at = timezone.now()
        job.save(update_fields=["started_at"])
    report = Report.from_dict(job.report) if job.report else Report()
    judge, read = Judge(), 0
    for chunk in _chunks(mapped_rows(job_table(job), job.mapping)):
        read += len(chunk)
        if read <= job.rows_done:  # written before an interruption
            _remember(judge, chunk)
            continue
        _import_chunk(job, judge, chunk, report)
        if on_progress:
            on_progress(len(chunk))
    return _finish(job, report)


def _import_chunk(job: SubscriberImport, judge: Judge, chunk: list, report: Report) -> None:
    """Judge and write one chunk, and the job's progress, in one transaction. An address in the
    chunk that signed up between the judging and the writing (a unique email) makes the chunk
    start again: it is then already subscribed."""
    for attempt in range(3):
        seen, before = dict(judge.seen), report.as_dict()
        try:
            with transaction.atomic():
                _write(_judge_chunk(judge, chunk, report))
                job.rows_done, job.report = report.total, report.as_dict()
                job.save(update_fields=["rows_done", "report", "updated_at"])
            return
        except IntegrityError:
            if attempt == 2:
                raise
            judge.seen = seen
            vars(report).update(vars(Report.from_dict(before)))


def _remember(judge: Judge, chunk) -> None:
    for number, row in chunk:
        with contextlib.suppress(Rejected):
            judge.read(number, row)


def _write(candidates: list[dict]) -> None:
    made = Subscriber.objects.bulk_create(
        [Subscriber(**{k: v for k, v in c.items() if k != "topics"}) for c in candidates]
    )
    Link = Subscriber.topics.through
    Link.objects.bulk_create(
        Link(subscriber_id=subscriber.pk, topic_id=topic.pk)
        for subscriber, candidate in zip(made, candidates, strict=True)
        for topic in candidate["topics"]
    )


def _finish(job: SubscriberImport, report: Report) -> Report:
    job.status, job.finished_at, job.data = SubscriberImport.Status.DONE, timezone.now(), ""
    job.report = report.as_dict()
    job.save(update_fields=["status", "finished_at", "data", "report", "updated_at"])
    audit.record(
        job.created_by,
        "import",
        f"{report.accepted} subscribers",
        job=job.pk,
        file=job.filename,
        rows=report.total,
        rejected=report.rejected_count,
        already=report.already_count,
        suppressed=report.suppressed_count,
    )
    return report


def fail_job(job_id: int, reason: str) -> None:
    """A job that cannot go on: its file is dropped, the reason shown."""
    SubscriberImport.objects.filter(pk=job_id).update(
        status=SubscriberImport.Status.FAILED,
        data="",
        error=reason[:500],
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


def import_now(*, data: bytes, filename: str, mapping: list[str], on_progress=None) -> Report:
    """Import a file in this process (the command): the same job, the same steps as admin's."""
    check_mapping(mapping)
    job = create_job(data=data, filename=filename)
    job.mapping, job.status = mapping, SubscriberImport.Status.QUEUED
    job.save(update_fields=["mapping", "status"])
    return run_job(job.pk, on_progress)


def summary(report: Report, *, dry_run: bool) -> list[str]:
    """The report as lines of text: each row left out and why, then the counts."""
    lines = [f"row {row}: rejected: {reason}" for row, reason in report.rejected]
    lines += [f"row {row}: already subscribed" for row in report.already]
    lines += [
        f"row {row}: suppressed (bounced, complained, unsubscribed or erased)"
        for row in report.suppressed
    ]
    listed = len(report.rejected) + len(report.already) + len(report.suppressed)
    left = report.rejected_count + report.already_count + report.suppressed_count - listed
    if left:
        lines.append(f"… and {left} more rows left out")
    verb = "Would import" if dry_run else "Imported"
    lines.append(
        f"{verb} {report.accepted} ({report.active} active, {report.accepted - report.active} "
        f"pending); rejected {report.rejected_count}; already subscribed "
        f"{report.already_count}; suppressed {report.suppressed_count}."
    )
    return lines


def progress(job: SubscriberImport) -> dict:
    total = job.rows_total
    return {
        "status": job.status,
        "rows_done": job.rows_done,
        "rows_total": total,
        "percent": round(100 * job.rows_done / total, 1) if total else 100.0,
        "imported": job.report.get("accepted", 0),
        "finished": job.status in (SubscriberImport.Status.DONE, SubscriberImport.Status.FAILED),
    }


# --- One row --------------------------------------------------------------------------------------


def _read_row(row: dict, topics: dict) -> dict:
    try:
        email = normalise_email(row.get("email") or "")
        first_name = clean_name(row.get("first_name") or "")
    except ValidationError as error:
        raise Rejected(" ".join(error.messages))
    slugs = [slug for slug in re.split(r"[\s,;]+", row.get("topics") or "") if slug]
    unknown = [slug for slug in slugs if slug not in topics]
    if unknown:
        raise Rejected(f"unknown topic {', '.join(_shown(slug, quote=False) for slug in unknown)}")
    chosen = [topics[slug] for slug in slugs] if slugs else list(topics.values())

    consented = (row.get("consent") or "").strip().lower() in TRUE_VALUES
    consent_at = _parse_when(row.get("consent_at") or "")
    basis = (row.get("lawful_basis") or "").strip() or Subscriber.LawfulBasis.CONSENT
    evidence = _text(row, "lawful_basis_evidence", 2000)
    if basis == Subscriber.LawfulBasis.CHARITY_SOFT_OPT_IN:
        _check_soft_opt_in(consent_at, evidence)
        active = True
    elif basis == Subscriber.LawfulBasis.CONSENT:
        if consented and consent_at is None:
            raise Rejected("consent is yes but the consent date is missing or not a date")
        active = consented and consent_at is not None
    else:
        raise Rejected(f"lawful basis {_shown(basis)} is not one of consent, charity-soft-opt-in")
    zone = _text(row, "time_zone", 64)
    if zone and zone not in _zones():
        raise Rejected(f"time zone {_shown(zone)} is not a known zone (such as Europe/London)")
    now = timezone.now()
    return {
        "email": email,
        "first_name": first_name,
        "status": Subscriber.Status.ACTIVE if active else Subscriber.Status.PENDING,
        "confirmed_at": now if active else None,
        "consent_at": consent_at,
        "consent_source": _text(row, "consent_source", 200) or "import",
        "consent_version": _text(row, "consent_version", 40),
        "lawful_basis": basis,
        "lawful_basis_evidence": evidence,
        "time_zone": zone,
        "topics": chosen,
    }


def _shown(value: str, *, quote: bool = True) -> str:
    """A cell quoted in a reason. The report outlives the file, so an address (a column mapped
    to the wrong field) is not repeated in it."""
    if "@" in value:
        return "(an email address: check the columns)"
    return repr(value[:40]) if quote else value[:40]


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_soft_opt_in(collected_at, evidence: str) -> None:
    start = settings.CHARITY_SOFT_OPT_IN_FROM
    if start is None:
        raise Rejected("the charity soft opt-in is not enabled (CHARITY_SOFT_OPT_IN_FROM)")
    if not evidence:
        raise Rejected("the soft opt-in needs lawful basis evidence: how and when collected")
    if collected_at is None or collected_at.date() < start:
        raise Rejected(
            f"the soft opt-in covers only contacts collected on or after {start.isoformat()} "
            "(the consent date says when)"
        )


def _text(row: dict, name: str, max_length: int) -> str:
    value = (row.get(name) or "").strip()
    # PostgreSQL cannot store NUL, and no other control character belongs in a consent record.
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise Rejected(f"{LABELS[name]} contains control characters")
    return value[:max_length]


def _parse_when(value: str):
    value = value.strip()
    if not value:
        return None
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = datetime.combine(day, time()) if day else None
    except ValueError:
        raise Rejected(f"consent date {_shown(value)} is not a valid date")
    if moment is None:
        raise Rejected(f"consent date {_shown(value)} is not a date")
    if moment.year < EARLIEST_CONSENT.year or moment.year > 9998:
        # Year 1 at +14:00 is a date before year 1 in UTC: stored, it could not be read back.
        raise Rejected(f"consent date {_shown(value)} is not a plausible date")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if not EARLIEST_CONSENT <= moment <= timezone.now() + timedelta(days=1):
        raise Rejected(f"consent date {_shown(value)} is not a plausible date")
    return moment
