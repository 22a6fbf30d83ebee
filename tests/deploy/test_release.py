"""A release keeps every task name, so tasks the old version queued run on the new worker; and the
release step is `migrate` once, apart from the processes (none of them migrates on start)."""

import subprocess
import sys

from engage.celery import app
from tests.deploy import readme
from tests.support import ROOT

# Every task name a release has ever queued. Add new ones; never remove or rename one.
TASK_NAMES = {
    "newsletter.tasks.apply_retention",
    "newsletter.tasks.import_subscribers",
    "newsletter.tasks.inbound_poll",
    "newsletter.tasks.notify_interest",
    "newsletter.tasks.prepare_campaign",
    "newsletter.tasks.process_signup",
    "newsletter.tasks.process_webhook_event",
    "newsletter.tasks.send_batch",
    "newsletter.tasks.send_rsvp_email",
    "newsletter.tasks.send_test_campaign",
    "newsletter.tasks.series_tick",
    "newsletter.tasks.tick",
}


def test_every_task_name_ever_queued_is_still_registered():
    code = (
        "import django; django.setup(); from engage.celery import app; "
        "app.loader.import_default_modules(); print('\\n'.join(sorted(app.tasks)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert set(result.stdout.split()) >= TASK_NAMES, TASK_NAMES - set(result.stdout.split())


def test_beats_schedule_names_registered_tasks():
    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks


def test_no_process_migrates_on_start_and_the_release_step_does():
    procfile = (ROOT / "Procfile").read_text()
    assert "migrate" not in procfile
    for line in procfile.splitlines():
        name, _, command = line.partition(":")
        assert command.strip().startswith("exec .venv/bin/"), name  # no activated venv needed
    release = readme.commands()[:-1]
    assert sum("manage.py migrate" in line for line in release) == 1
