"""Import subscribers from a CSV file.

Columns (a header row is required; only `email` is mandatory):
  email, first_name, topics (slugs separated by spaces, commas or semicolons; empty = all topics),
  consent (yes/true/1), consent_at (ISO date or date-time), consent_source, consent_version,
  lawful_basis (consent or charity-soft-opt-in), lawful_basis_evidence.

A row becomes active only when the file records consent: `consent` is yes and `consent_at` says
when; or, for a charity's supporter, the soft opt-in (lawful_basis charity-soft-opt-in): evidence of
how the details were collected and the opt-out offered then, and a `consent_at` (when they were
collected) on or after CHARITY_SOFT_OPT_IN_FROM, the day the Data (Use and Access) Act 2025's
charity soft opt-in came into force. It covers only the charity's own news and appeals, which is
all Engage sends.

Any other row is imported as pending, and no email is sent to it: staff decide whether to ask those
people to confirm (the admin's "resend confirmation" action); unconfirmed, they are deleted after
RETENTION_UNCONFIRMED_DAYS. Addresses already subscribed,
suppressed or erased are refused, as are duplicates within the file. Nothing is stored by
--dry-run, and nothing is stored at all unless every accepted row can be written. A cell with the
export's formula guard (a ' before = + - @) is read without it.
"""

import csv
import re
import sys
import unicodedata
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from newsletter.addresses import clean_name, normalise_email
from newsletter.csvfiles import spreadsheet_value
from newsletter.models import Subscriber, Topic
from newsletter.policy import is_suppressed

TRUE_VALUES = {"yes", "y", "true", "1"}
# Consent cannot be older than the web, nor given tomorrow.
EARLIEST_CONSENT = datetime(1990, 1, 1, tzinfo=UTC)


class Rejected(Exception):
    pass


class Command(BaseCommand):
    help = "Import subscribers from a CSV file (see the module docstring for the columns)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file, UTF-8.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row and report; store nothing."
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, file, dry_run, no_progress, **options):
        topics = {topic.slug: topic for topic in Topic.objects.all()}
        try:
            with open(file, newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                # Read while the file is open: an empty file has no header to read later.
                columns = reader.fieldnames or []
                # The line each record ends on, for the report.
                records = [(reader.line_num, row) for row in reader]
        except FileNotFoundError:
            raise CommandError(f"No such file: {file}")
        except UnicodeDecodeError:
            raise CommandError(f"{file} is not UTF-8 text.")
        except csv.Error as error:
            raise CommandError(f"{file} is not a readable CSV file: {error}")
        if "email" not in columns:
            raise CommandError("The file needs a header row with an `email` column.")

        accepted, rejected, seen = [], [], {}
        progress = tqdm(
            records,
            unit="row",
            disable=no_progress,
            file=sys.stderr,
        )
        for line, row in progress:
            try:
                candidate = self._read_row(row, topics)
                if candidate["email"] in seen:
                    raise Rejected(f"duplicate of line {seen[candidate['email']]}")
                seen[candidate["email"]] = line
                if is_suppressed(candidate["email"]):
                    raise Rejected(
                        "the address is suppressed (bounced, complained, unsubscribed or erased)"
                    )
                if Subscriber.objects.filter(email=candidate["email"]).exists():
                    raise Rejected("already a subscriber")
            except Rejected as reason:
                rejected.append((line, str(reason)))
                continue
            accepted.append(candidate)

        if not dry_run:
            with transaction.atomic():
                for candidate in accepted:
                    topic_list = candidate.pop("topics")
                    subscriber = Subscriber.objects.create(**candidate)
                    subscriber.topics.set(topic_list)

        for line, reason in rejected:
            self.stdout.write(f"line {line}: rejected: {reason}")
        active = sum(1 for c in accepted if c["status"] == Subscriber.Status.ACTIVE)
        verb = "Would import" if dry_run else "Imported"
        self.stdout.write(
            f"{verb} {len(accepted)} ({active} active, {len(accepted) - active} pending); "
            f"rejected {len(rejected)}."
        )

    def _read_row(self, row: dict, topics: dict) -> dict:
        if None in row:
            raise Rejected("more values than columns")
        row = {column: spreadsheet_value(value or "") for column, value in row.items()}
        try:
            email = normalise_email(row.get("email") or "")
            first_name = clean_name(row.get("first_name") or "")
        except ValidationError as error:
            raise Rejected(" ".join(error.messages))
        slugs = [slug for slug in re.split(r"[\s,;]+", row.get("topics") or "") if slug]
        unknown = [slug for slug in slugs if slug not in topics]
        if unknown:
            raise Rejected(f"unknown topic {', '.join(unknown)}")
        chosen = [topics[slug] for slug in slugs] if slugs else list(topics.values())

        consented = (row.get("consent") or "").strip().lower() in TRUE_VALUES
        consent_at = self._parse_when(row.get("consent_at") or "")
        basis = (row.get("lawful_basis") or "").strip() or Subscriber.LawfulBasis.CONSENT
        evidence = self._text(row, "lawful_basis_evidence", 2000)
        if basis == Subscriber.LawfulBasis.CHARITY_SOFT_OPT_IN:
            self._check_soft_opt_in(consent_at, evidence)
            active = True
        elif basis == Subscriber.LawfulBasis.CONSENT:
            if consented and consent_at is None:
                raise Rejected("consent is yes but consent_at is missing or not a date")
            active = consented and consent_at is not None
        else:
            raise Rejected(f"lawful_basis {basis!r} is not one of consent, charity-soft-opt-in")
        now = timezone.now()
        return {
            "email": email,
            "first_name": first_name,
            "status": Subscriber.Status.ACTIVE if active else Subscriber.Status.PENDING,
            "confirmed_at": now if active else None,
            "consent_at": consent_at,
            "consent_source": self._text(row, "consent_source", 200) or "import",
            "consent_version": self._text(row, "consent_version", 40),
            "lawful_basis": basis,
            "lawful_basis_evidence": evidence,
            "topics": chosen,
        }

    @staticmethod
    def _check_soft_opt_in(collected_at, evidence: str) -> None:
        start = settings.CHARITY_SOFT_OPT_IN_FROM
        if start is None:
            raise Rejected("the charity soft opt-in is not enabled (CHARITY_SOFT_OPT_IN_FROM)")
        if not evidence:
            raise Rejected("the soft opt-in needs lawful_basis_evidence: how and when collected")
        if collected_at is None or collected_at.date() < start:
            raise Rejected(
                f"the soft opt-in covers only contacts collected on or after {start.isoformat()} "
                "(consent_at says when)"
            )

    @staticmethod
    def _text(row: dict, column: str, max_length: int) -> str:
        value = (row.get(column) or "").strip()
        # PostgreSQL cannot store NUL, and no other control character belongs in a consent record.
        if any(unicodedata.category(char) == "Cc" for char in value):
            raise Rejected(f"{column} contains control characters")
        return value[:max_length]

    @staticmethod
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
            raise Rejected(f"consent_at {value!r} is not a valid date")
        if moment is None:
            raise Rejected(f"consent_at {value!r} is not a date")
        if moment.year < EARLIEST_CONSENT.year or moment.year > 9998:
            # Year 1 at +14:00 is a date before year 1 in UTC: stored, it could not be read back.
            raise Rejected(f"consent_at {value!r} is not a plausible date")
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        if not EARLIEST_CONSENT <= moment <= timezone.now() + timedelta(days=1):
            raise Rejected(f"consent_at {value!r} is not a plausible date")
        return moment
