"""The time-zone picker: every IANA zone, grouped by region, the organisation's own zone first."""

from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django import forms
from django.conf import settings


@cache
def _known() -> frozenset[str]:
    # "localtime" is this server's own zone (and "Factory" a placeholder), not a place anyone is.
    return frozenset(available_timezones() - {"localtime", "Factory"})


@cache
def grouped_choices(first: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Choices for a <select> with an <optgroup> per region ("Europe", "America", …; zones
    without one under "Other"), each zone labelled by its place, and `first` on its own at the
    top."""
    regions: dict[str, list[tuple[str, str]]] = {}
    for zone in sorted(_known()):
        if zone == first:
            continue
        region, _, place = zone.partition("/")
        if not place:
            region, place = "Other", zone
        regions.setdefault(region, []).append((zone, place.replace("_", " ")))
    others = regions.pop("Other", [])
    return [
        ("Organisation", [(first, first)]),
        *sorted(regions.items()),
        *([("Other", others)] if others else []),
    ]


def timezone_field(**kwargs) -> forms.ChoiceField:
    """A form field to pick a zone, the organisation's (settings.TIME_ZONE) chosen at first."""
    return forms.ChoiceField(
        choices=grouped_choices(settings.TIME_ZONE), initial=settings.TIME_ZONE, **kwargs
    )


def known_zone(value) -> str:
    """`value` when it names a zone this server knows, else "" (the organisation's zone): what a
    browser sent is kept only when it is a real IANA name, whatever else arrives."""
    return value if isinstance(value, str) and value in _known() else ""


def reader_zone(subscriber) -> ZoneInfo:
    """The zone a reader's local times are in: their own, or the organisation's when they have
    none (or an unknown one)."""
    try:
        return ZoneInfo(subscriber.time_zone or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)
