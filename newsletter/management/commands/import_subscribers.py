import argparse
import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from newsletter.subscribers import import_file, imports

FIELD_HELP = "\n".join(f"  {name:<22} {label}" for name, label, _ in import_file.FIELDS)

LIMITS = f"at most {import_file.MAX_BYTES // 2**20} MB and {import_file.MAX_ROWS:,} rows"

HELP = f"""Import subscribers from a CSV file: the same import as admin's "Import subscribers".

The file is UTF-8 CSV with a header row, {LIMITS}. A column is
read as a field when its header, ignoring case, spaces and punctuation, is the field's name or a
usual alternative ("E-mail address", "Opt-in date", "Timezone"); --map names the others. Only
the email column is required. The fields:
{FIELD_HELP}

Topics are names or slugs, in any case, separated by semicolons or commas ("News; Events"; empty:
every topic). A row becomes active only when consent is recorded (consent yes and a consent date;
--consent-date and --consent-via state them for every row that leaves them blank, a row's own date
winning), or the charity soft
opt-in (lawful_basis charity-soft-opt-in, with evidence, collected on or after
CHARITY_SOFT_OPT_IN_FROM); other rows are imported as pending and no email is sent to anyone.
Addresses already subscribed, suppressed or erased, duplicates within the file, and cells that
would run as a spreadsheet formula are left out, each reported with its row number (the header
is row 1). Importing the same file again changes nothing. A cell with the export's formula
guard (a ' before = + - @) is read without it.
"""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the field list
        return parser

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8, with a header row).")
        parser.add_argument(
            "--map",
            dest="columns",
            action="append",
            default=[],
            metavar="HEADER=FIELD",
            help="Read the column named HEADER as FIELD (one of: "
            f"{', '.join(name for name, _, _ in import_file.FIELDS)}; or ignore). Repeatable.",
        )
        parser.add_argument(
            "--consent-date",
            type=date.fromisoformat,
            metavar="YYYY-MM-DD",
            help="The day everyone in the file consented (rows with their own date keep it).",
        )
        parser.add_argument(
            "--consent-via",
            default="",
            metavar="TEXT",
            help='How they consented, e.g. "signed up at the 2026 walk" (with --consent-date).',
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check every row and report what would happen; store nothing.",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Hide the progress bar (shown on stderr)."
        )

    def handle(
        self, *args, file, columns, dry_run, no_progress, consent_date, consent_via, **options
    ):
        try:
            with open(file, "rb") as handle:
                data = handle.read(import_file.MAX_BYTES + 1)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}")
        try:
            table = import_file.read_csv(data)
            mapping = self._mapping(table.headers, columns)
            import_file.check_mapping(mapping)
            statement = import_file.file_consent(consent_date, consent_via)
            if dry_run:
                report = imports.check(table, mapping, statement)
            else:
                with tqdm(
                    total=len(table.rows), unit="row", disable=no_progress, file=sys.stderr
                ) as bar:
                    report = imports.import_now(
                        data=data,
                        filename=file,
                        mapping=mapping,
                        statement=statement,
                        on_progress=bar.update,
                    )
        except import_file.ImportFileError as error:
            raise CommandError(f"{file}: {error}")
        for line in imports.summary(report, dry_run=dry_run):
            self.stdout.write(line)

    @staticmethod
    def _mapping(headers: list[str], pairs: list[str]) -> list[str]:
        mapping = import_file.guess_mapping(headers)
        for pair in pairs:
            header, _, name = pair.partition("=")
            name = "" if name == "ignore" else name
            if header not in headers or name not in import_file.LABELS:
                raise CommandError(f"--map {pair}: no column {header!r}, or no field {name!r}.")
            mapping = ["" if chosen == name else chosen for chosen in mapping]
            mapping[headers.index(header)] = name
        return mapping
