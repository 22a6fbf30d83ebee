"""Scheduling a campaign in admin: the form, and the words staff read before they confirm."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from ..delivery import AudienceCount
from ..timezones import timezone_field


class ScheduleForm(forms.Form):
    at = forms.DateTimeField(
        label="Send at",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Leave as is or in the past to send at the next minute.",
    )
    timezone = timezone_field(label="Time zone")

    def clean(self):
        data = super().clean()
        at, zone = data.get("at"), data.get("timezone")
        if at and zone:
            # The field made `at` aware in the site's zone; read the wall time in the chosen one.
            data["at"] = timezone.make_aware(timezone.make_naive(at), ZoneInfo(zone))
        return data


def people(number: int) -> str:
    return f"{number} person" if number == 1 else f"{number} people"


def audience_sentence(count: AudienceCount) -> str:
    """ "This goes to 8 people (2 of the 10 in these topics get nothing from its posts)."."""
    if not count.get_nothing:
        return f"This goes to {people(count.goes_to)}."
    verb = "gets" if count.get_nothing == 1 else "get"
    return (
        f"This goes to {people(count.goes_to)} ({count.get_nothing} of the {count.in_topics} "
        f"in these topics {verb} nothing from its posts)."
    )


def question(count: AudienceCount, at: datetime, zone: str) -> str:
    """ "Send to 8 people at 14:05 Europe/London on Wednesday 2 December 2026?", or "now"."""
    local = at.astimezone(ZoneInfo(zone))
    when = f"at {local:%H:%M} {zone} on {local:%A} {local.day} {local:%B %Y}"
    if at <= timezone.now():
        when = f"now ({local:%H:%M} {zone})"
    return f"Send to {people(count.goes_to)} {when}?"
