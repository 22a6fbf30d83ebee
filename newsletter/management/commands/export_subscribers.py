"""Export subscribers as CSV (the columns import_subscribers reads), to stdout or a file."""

from django.core.management.base import BaseCommand

from newsletter.models import Subscriber
from newsletter.subscribers.csvfiles import write_csv


class Command(BaseCommand):
    help = "Export subscribers as CSV to stdout, or to --output FILE."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")
        parser.add_argument(
            "--status",
            action="append",
            choices=Subscriber.Status.values,
            help="Only these statuses (repeatable). Default: all.",
        )

    def handle(self, *args, output, status, **options):
        subscribers = Subscriber.objects.all()
        if status:
            subscribers = subscribers.filter(status__in=status)
        if output:
            with open(output, "w", newline="", encoding="utf-8") as handle:
                count = write_csv(subscribers, handle)
            self.stderr.write(f"Exported {count} subscribers to {output}.")
        else:
            write_csv(subscribers, self.stdout)
