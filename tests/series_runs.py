"""Series driven in tests: a series made and activated, readers enrolled, the tick at a moment."""

from datetime import datetime

from newsletter import series
from newsletter.models import Series, SeriesStep, Subscriber


def welcome_series(*steps: dict, **fields) -> Series:
    """A series for confirmations with these steps ({"subject", "delay", "delay_unit", …}),
    activated."""
    made = Series.objects.create(name=fields.pop("name", "Welcome"), **fields)
    for position, step in enumerate(steps, start=1):
        posts = step.pop("posts", [])
        step.setdefault("body", f"This is step {position} of our welcome.")
        created = SeriesStep.objects.create(series=made, position=position, **step)
        created.posts.set(posts)
    series.series_activate(series=made)
    made.refresh_from_db()
    return made


def enrol(readers: list[Subscriber], at: datetime) -> None:
    for reader in readers:
        series.enrol_on_confirmation(subscriber=reader, topic_ids=[], now=at)


def step_emails(received, subject: str) -> list:
    return [r for r in received if r.message["Subject"] == subject]
