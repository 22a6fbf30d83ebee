"""A subscriber CSV file as the import reads it: the file checked and decoded, which column holds
what, and each row read into the values a subscriber would get (or why it is refused). No
database writes: newsletter.subscribers.imports judges and imports the rows."""

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from newsletter.models import Subscriber
from newsletter.subscribers.addresses import clean_name, normalise_email
from newsletter.subscribers.csvfiles import spreadsheet_value

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
# Far more than any CRM export needs; a file of thousands of columns would make the column page
# megabytes long (issue 26: 20,000 columns, 18 MB).
MAX_COLUMNS = 100
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
# The upload page's table of columns, in plain words, and the sample file: (field, a header the
# import recognises, an example cell, what the column means). Fields without an example are
# explained but left out of the sample file.
EXPLAINED = [
    ("email", "Email", "sam@example.org", "Required. One address per row."),
    ("first_name", "First name", "Sam", "Optional. Used to greet the person."),
    (
        "topics",
        "Topics",
        "News; Events",
        "Optional. Topic names (as the admin shows them) or their short names, separated by “;” "
        "or “,”. Empty: every topic.",
    ),
    (
        "consent",
        "Consent",
        "yes",
        "“yes” when the person agreed to get these emails. Anything else: imported as pending, "
        "and sent nothing. Leave the column out when you state consent for the whole file.",
    ),
    (
        "consent_at",
        "Consent date",
        "2026-05-09",
        "When they agreed, as 2026-05-09. Needed with consent; without the column you can give "
        "one date for the whole file on the next page. A date in a row wins over that one.",
    ),
    (
        "lawful_basis_evidence",
        "Evidence",
        "signed up at the 2026 walk",
        "Optional. How they agreed: the form, the event, the paper sheet.",
    ),
    ("consent_source", "Source", "", "Optional. Where the sign-up came from."),
    ("consent_version", "Consent version", "", "Optional. The version of the consent wording."),
    (
        "lawful_basis",
        "Lawful basis",
        "",
        "Optional. “consent” (the default) or “charity-soft-opt-in”.",
    ),
    ("time_zone", "Time zone", "", "Optional. Such as Europe/London."),
]
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


@dataclass(frozen=True)
class FileConsent:
    """What staff stated for the whole file: "these people consented on … via …"."""

    consent_at: datetime
    via: str


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (spreadsheet row number, cells)


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
        check_width(headers or [])
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


def check_width(headers: list[str]) -> None:
    """ImportFileError when the file has more columns than the import can offer to map."""
    if len(headers) > MAX_COLUMNS:
        raise ImportFileError(
            f"The file has {len(headers):,} columns; an import reads at most {MAX_COLUMNS}. "
            "Save a copy with only the columns you need (email, name, topics, consent)."
        )


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


# --- One row --------------------------------------------------------------------------------------


def read_row(row: dict, topics: dict, statement: FileConsent | None = None) -> dict:
    """The subscriber a row makes, or Rejected. `topics` is topic_lookup()'s; `statement` the
    consent stated for the whole file, if any."""
    try:
        email = normalise_email(row.get("email") or "")
        first_name = clean_name(row.get("first_name") or "")
    except ValidationError as error:
        raise Rejected(" ".join(error.messages))
    chosen = topics_in(row.get("topics") or "", topics)

    consented, consent_at, evidence = consent_record(row, statement)
    basis = (row.get("lawful_basis") or "").strip() or Subscriber.LawfulBasis.CONSENT
    if basis == Subscriber.LawfulBasis.CHARITY_SOFT_OPT_IN:
        _check_soft_opt_in(consent_at, evidence)
        active = True
    elif basis == Subscriber.LawfulBasis.CONSENT:
        if consented and consent_at is None:
            raise Rejected(
                "consent is “yes” but there is no consent date: add a Consent date column, or "
                "give one date for the whole file on the columns page"
            )
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


def topic_lookup(topics) -> dict:
    """Topics by what a file may call them: slug or name, in any case."""
    lookup = {}
    for topic in topics:
        lookup[topic.name.casefold()] = topic
        lookup[topic.slug.casefold()] = topic
    return lookup


def topics_in(cell: str, topics: dict) -> list:
    """The topics a cell names ("News; Events", "news,events"; our export's "news events"), or
    Rejected naming the unknown ones. An empty cell: every topic."""
    chosen, unknown = [], []
    for part in re.split(r"[;,]", cell):
        part = " ".join(part.split())
        if not part:
            continue
        if part.casefold() in topics:
            chosen.append(topics[part.casefold()])
        elif all(word.casefold() in topics for word in part.split()):
            # Slugs separated by spaces, as newsletter.subscribers.csvfiles writes them.
            chosen += [topics[word.casefold()] for word in part.split()]
        else:
            unknown.append(part)
    every = list(dict.fromkeys(topics.values()))
    if unknown:
        known = ", ".join(topic.name for topic in every)
        raise Rejected(
            f"unknown topic {', '.join(_shown(part) for part in unknown)} (the topics are: {known})"
        )
    return list(dict.fromkeys(chosen)) if chosen else every


def consent_record(row: dict, statement: FileConsent | None) -> tuple[bool, datetime | None, str]:
    """Whether the row says the person consented, when, and the evidence. The statement made for
    the whole file covers a row that leaves consent blank, gives the date a row leaves out (a
    row's own date wins), and its "via" is the evidence when the row gives none; the evidence
    says which of the two the date came from."""
    answer = (row.get("consent") or "").strip().lower()
    consent_at = _parse_when(row.get("consent_at") or "")
    evidence = _text(row, "lawful_basis_evidence", 2000)
    if statement is None:
        return answer in TRUE_VALUES, consent_at, evidence
    consented = answer in TRUE_VALUES or not answer
    if not consented:
        return False, consent_at, evidence
    stated_on = statement.consent_at.date().isoformat()
    if consent_at is None:
        consent_at = statement.consent_at
        note = f"consent date {stated_on} stated for the whole file at import, not in the row"
    else:
        note = "consent date from the row"
    via = evidence or f"{statement.via} (stated for the whole file at import)"
    return True, consent_at, f"{via}; {note}"[:2000]


def file_consent(consent_on, via: str) -> FileConsent | None:
    """The statement for the whole file from the date and the "via" staff typed, or
    ImportFileError; None when neither was given."""
    via = " ".join((via or "").split())
    if consent_on is None and not via:
        return None
    if consent_on is None:
        raise ImportFileError("Give the date these people consented, or leave both empty.")
    if not via:
        raise ImportFileError("Say how these people consented (such as “signed up at the walk”).")
    if any(unicodedata.category(char) == "Cc" for char in via):
        raise ImportFileError("How they consented contains control characters.")
    consent_at = timezone.make_aware(datetime.combine(consent_on, time()))
    if not EARLIEST_CONSENT <= consent_at <= timezone.now() + timedelta(days=1):
        raise ImportFileError(
            f"{consent_on.isoformat()} is not a plausible consent date: the day they consented, "
            "not in the future."
        )
    return FileConsent(consent_at=consent_at, via=via[:500])


def sample_csv() -> str:
    """A small file the import reads as it is: the upload page offers it as an example."""
    columns = [(header, example) for _, header, example, _ in EXPLAINED if example]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for header, _ in columns])
    writer.writerow([example for _, example in columns])
    writer.writerow(
        ["alex@example.org", "Alex", "Get involved", "yes", "2026-04-12", "website form"]
    )
    return out.getvalue()


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
