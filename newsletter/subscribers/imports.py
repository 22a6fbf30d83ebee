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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from newsletter.models import Subscriber, SubscriberImport, Topic
from newsletter.staff import audit
from newsletter.subscribers import policy
from newsletter.subscribers.import_file import (
    FileConsent,
    Rejected,
    Table,
    check_mapping,
    guess_mapping,
    mapped_rows,
    read_csv,
    read_row,
    topic_lookup,
)

CHUNK_ROWS = 500
# How many row numbers a report lists of each kind (rejected, already, …); counts are exact.
LISTED = 1000


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


# --- Judging rows ---------------------------------------------------------------------------------


@dataclass
class Judge:
    """Reads rows into subscriber fields, remembering the addresses seen earlier in the file."""

    statement: FileConsent | None = None
    topics: dict = field(default_factory=lambda: topic_lookup(Topic.objects.all()))
    seen: dict = field(default_factory=dict)

    def read(self, number: int, row: dict | str) -> dict:
        if isinstance(row, str):
            raise Rejected(row)
        candidate = read_row(row, self.topics, self.statement)
        if candidate["email"] in self.seen:
            raise Rejected(
                f"duplicate of row {self.seen[candidate['email']]} (the same email address)"
            )
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


def check(table: Table, mapping: list[str], statement: FileConsent | None = None) -> Report:
    """The dry run: what importing would do, row by row. Writes nothing."""
    check_mapping(mapping)
    judge, report = Judge(statement=statement), Report()
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


def job_statement(job: SubscriberImport) -> FileConsent | None:
    if job.consent_at is None:
        return None
    return FileConsent(consent_at=job.consent_at, via=job.consent_via)


def job_check(
    job: SubscriberImport, mapping: list[str], statement: FileConsent | None = None
) -> Report:
    """The dry run of a stored upload with this mapping (and the consent stated for the whole
    file), kept on the job to show and to start."""
    report = check(job_table(job), mapping, statement)
    job.mapping, job.dry_run = mapping, report.as_dict()
    job.consent_at = statement.consent_at if statement else None
    job.consent_via = statement.via if statement else ""
    job.status = SubscriberImport.Status.CHECKED
    job.save(
        update_fields=["mapping", "dry_run", "consent_at", "consent_via", "status", "updated_at"]
    )
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
    judge, read = Judge(statement=job_statement(job)), 0
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


def import_now(
    *,
    data: bytes,
    filename: str,
    mapping: list[str],
    statement: FileConsent | None = None,
    on_progress=None,
) -> Report:
    """Import a file in this process (the command): the same job, the same steps as admin's."""
    check_mapping(mapping)
    job = create_job(data=data, filename=filename)
    job.mapping, job.status = mapping, SubscriberImport.Status.QUEUED
    if statement:
        job.consent_at, job.consent_via = statement.consent_at, statement.via
    job.save(update_fields=["mapping", "status", "consent_at", "consent_via"])
    return run_job(job.pk, on_progress)


def import_one(row: dict[str, str]) -> tuple[str, str]:
    """One subscriber by a file row's rules (the API's import): `row` holds a file's cells by
    field. ("accepted", ""), or ("rejected", reason), ("already", "") or ("suppressed", "")."""
    judge, report = Judge(), Report()
    try:
        with transaction.atomic():
            _write(_judge_chunk(judge, [(1, row)], report))
    except IntegrityError:  # the address signed up (or was imported) since it was judged
        return "already", ""
    if report.accepted:
        return "accepted", ""
    if report.rejected:
        return "rejected", report.rejected[0][1]
    return ("already", "") if report.already else ("suppressed", "")


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
