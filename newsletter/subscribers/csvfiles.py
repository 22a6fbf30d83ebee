"""Subscribers as CSV: what export_subscribers and the admin write, and import_subscribers reads."""

import csv

from newsletter.models import Subscriber

CSV_FIELDS = [
    "email",
    "first_name",
    "status",
    "topics",
    "created_at",
    "confirmed_at",
    "unsubscribed_at",
    "consent",
    "consent_at",
    "consent_source",
    "consent_version",
    "lawful_basis",
    "lawful_basis_evidence",
    "time_zone",
]

# A cell starting with one of these runs as a formula when staff open the file in a spreadsheet.
FORMULA_STARTS = "=+-@\t\r"


def write_csv(subscribers, out) -> int:
    """Write subscribers as CSV (the columns import_subscribers reads back); the row count."""
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    count = 0
    for subscriber in subscribers.prefetch_related("topics").order_by("id").iterator(2000):
        row = {
            "email": subscriber.email,
            "first_name": subscriber.first_name,
            "status": subscriber.status,
            "topics": " ".join(topic.slug for topic in subscriber.topics.all()),
            "created_at": subscriber.created_at.isoformat(),
            "confirmed_at": _iso(subscriber.confirmed_at),
            "unsubscribed_at": _iso(subscriber.unsubscribed_at),
            # "yes" only for people who confirmed: import_subscribers makes them active again.
            "consent": "yes" if subscriber.status == Subscriber.Status.ACTIVE else "",
            "consent_at": _iso(subscriber.consent_at),
            "consent_source": subscriber.consent_source,
            "consent_version": subscriber.consent_version,
            "lawful_basis": subscriber.lawful_basis,
            "lawful_basis_evidence": subscriber.lawful_basis_evidence,
            "time_zone": subscriber.time_zone,
        }
        writer.writerow([spreadsheet_safe(row[field]) for field in CSV_FIELDS])
        count += 1
    return count


def _iso(value) -> str:
    return value.isoformat() if value else ""


def spreadsheet_safe(value: str) -> str:
    """The cell as written: a leading quote keeps a formula-like value text."""
    if value and value[0] in FORMULA_STARTS:
        return "'" + value
    return value


def spreadsheet_value(cell: str) -> str:
    """The value a cell written by spreadsheet_safe stood for: its guard quote taken off."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_STARTS:
        return cell[1:]
    return cell
