"""One inbound message on stdin, for an MTA's pipe transport or alias (see README).

The exit status is what the MTA acts on (sysexits.h): 0 recorded (or a replay), 65 EX_DATAERR
nothing to read, 75 EX_TEMPFAIL the database is away — the MTA keeps the message and tries later.
"""

import sys

from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError

from newsletter.inbound.receive import receive

EX_OK = 0
EX_DATAERR = 65
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Record, classify and act on one inbound message read from stdin."
    requires_system_checks = []  # an MTA waits on this: no checks, and none that need the database

    def add_arguments(self, parser):
        parser.add_argument(
            "--recipient",
            default="",
            help="The envelope recipient (Postfix: ${recipient}), where the VERP token is.",
        )

    def handle(self, *args, recipient, **options):
        raw = sys.stdin.buffer.read()
        if not raw.strip():
            self.stderr.write("process_inbound: empty message")
            sys.exit(EX_DATAERR)
        try:
            result = receive(raw, source="pipe", envelope_to=recipient)
        except (OperationalError, InterfaceError) as error:
            self.stderr.write(f"process_inbound: database unavailable, try later: {error}")
            sys.exit(EX_TEMPFAIL)
        row = result.row
        state = "recorded" if result.created else "already recorded"
        self.stdout.write(f"{state}: {row.kind} {row.reason}".strip())
        sys.exit(EX_OK)
