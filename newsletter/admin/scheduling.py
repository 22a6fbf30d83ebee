"""Scheduling a campaign in admin: the form, and the words staff read before they confirm."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from newsletter.campaigns.audience import AudienceCount
from newsletter.subscribers.timezones import timezone_field


class ScheduleForm(forms.Form):
    MOMENT, LOCAL = "moment", "local"
    when = forms.ChoiceField(
        label="When",
        choices=[
            (MOMENT, "At this moment, for everyone"),
            (LOCAL, "At a time of day in each reader's own time zone"),
        ],
        initial=MOMENT,
        required=False,
        widget=forms.RadioSelect,
    )
    at = forms.DateTimeField(
        label="Send at",
        required=False,  # needed for one moment only (clean)
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Leave as is or in the past to send now.",
    )
    timezone = timezone_field(label="Time zone")
    local_date = forms.DateField(
        label="Date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="In each reader's own time zone (readers without one: the organisation's).",
    )
    local_time = forms.TimeField(
        label="Time of day", required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )

    def clean(self):
        data = super().clean()
        if data.get("when") == self.LOCAL:
            for name in ("local_date", "local_time"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, "Needed to send in each reader's time zone.")
            return data
        data["when"] = self.MOMENT
        if not data.get("at") and "at" not in self.errors:
            self.add_error("at", "This field is required.")
        at, zone = data.get("at"), data.get("timezone")
        if at and zone:
            # The field made `at` aware in the site's zone; read the wall time in the chosen one.
            data["at"] = timezone.make_aware(timezone.make_naive(at), ZoneInfo(zone))
        return data

    def local(self) -> tuple | None:
        """(date, time) to send in each reader's zone, or None for one moment."""
        if self.cleaned_data["when"] != self.LOCAL:
            return None
        return self.cleaned_data["local_date"], self.cleaned_data["local_time"]


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


def local_question(count: AudienceCount, plan: dict, local: tuple) -> str:
    """ "Send to 8 people at 09:00 on Sunday 29 March 2026 in each reader's own time zone, from
    00:00 UTC Sun 29 Mar to 13:00 UTC Sun 29 Mar?" (the audience's first and last waves)."""
    first, last = min(plan), max(plan)
    span = f"from {first:%H:%M} UTC {first:%a %-d %b} to {last:%H:%M} UTC {last:%a %-d %b}"
    if first == last:
        span = f"at {first:%H:%M} UTC {first:%a %-d %b}"
    on, at = local
    return (
        f"Send to {people(count.goes_to)} at {at:%H:%M} on {on:%A} {on.day} {on:%B %Y} "
        f"in each reader's own time zone, {span}?"
    )
