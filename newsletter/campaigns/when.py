"""How staff read a moment: in the active time zone, in the locale's own date format ("7 Dec
2026, 10:50 p.m. GMT"), never an ISO string."""

from datetime import datetime

from django.utils import formats, timezone


def staff_time(at: datetime) -> str:
    local = timezone.localtime(at)
    return f"{formats.date_format(local, 'DATETIME_FORMAT')} {local:%Z}"
