"""Series: automations such as the welcome series.

A series is ordered steps, each an email sent a delay after the one before. A trigger (a
confirmation, a topic added) enrols a subscriber once, ever (`enrolment`); a tick every minute
writes each due step's Delivery row and moves the enrolment on in one transaction (`tick`), and the
delivery pipeline sends it like any campaign: each step owns a system campaign, frozen when a
sender activates the series (`approval`), so the ledger holds one row per step and subscriber and
the same workers, senders, headers, suppression and tracking rules apply. `counts` is what admin
shows per step.

May import newsletter.delivery, newsletter.campaigns and everything below them.
"""

from newsletter.series.approval import SeriesError, series_activate, series_pause, series_to_draft
from newsletter.series.enrolment import enrol_on_confirmation, enrol_on_topics
from newsletter.series.tick import run_due_steps

__all__ = [
    "SeriesError",
    "enrol_on_confirmation",
    "enrol_on_topics",
    "run_due_steps",
    "series_activate",
    "series_pause",
    "series_to_draft",
]
