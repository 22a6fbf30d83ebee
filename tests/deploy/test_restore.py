"""Backup and restore as the README says, in the middle of a campaign: the old deployment stops
with some readers sent and the rest queued, its database is dumped and restored into an empty one,
a new worker and beat (with an empty queue, as after a lost Redis) start on the copy, and every
reader gets the campaign exactly once."""

import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from newsletter import tasks
from newsletter.models import Campaign, Delivery
from tests.campaign_runs import audience, due_campaign, per_recipient
from tests.deploy import readme
from tests.deploy.deployment import create_database, drop_database, shell_env, with_database
from tests.deploy.processes import BeatProcess
from tests.support import WorkerProcess, database_url, wait_until

READERS = 40
# Shortened so the campaign is still going when the old worker stops: five readers a batch,
# four messages a second (production: 200 a batch, no cap).
SLOW = {"SEND_BATCH_SIZE": "5", "SEND_RATE_PER_SECOND": "4"}


def backup_and_restore_lines() -> tuple[list[str], list[str]]:
    lines = readme.block("production-backup").splitlines()
    split = next(i for i, line in enumerate(lines) if line.startswith("# restore"))
    commands = [
        [line for line in part if line.strip() and not line.startswith("#")]
        for part in (lines[:split], lines[split:])
    ]
    return commands[0], commands[1]


def run(lines: list[str], folder: Path, url: str) -> None:
    for line in lines:
        result = subprocess.run(
            ["bash", "-c", line],
            cwd=folder,
            env={**shell_env(), "DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"`{line}`:\n{result.stdout}{result.stderr}"


def sent_in(url: str) -> int:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
        return conn.execute(
            "SELECT count(*) FROM newsletter_delivery WHERE status = 'sent'"
        ).fetchone()[0]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(600)
def test_a_restore_mid_campaign_sends_each_reader_the_campaign_once(topics, smtp_sink):
    smtp_sink.reset()
    readers = audience(topics, READERS)
    campaign = due_campaign(topics)
    old = WorkerProcess(email_url=smtp_sink.url, extra_env=SLOW).start()
    restored_url = with_database(database_url(), f"{urlsplit(database_url()).path[1:]}_restored")
    processes = []
    try:
        tasks.tick()  # the old deployment's beat starts the campaign
        wait_until(
            lambda: Delivery.objects.filter(status=Delivery.Status.SENT).count() >= 10,
            120,
            interval=0.2,
            message="ten readers sent",
        )
        old.stop()  # warm: its current batch finishes and is recorded
        before = Delivery.objects.filter(status=Delivery.Status.SENT).count()
        assert 10 <= before < READERS, "the campaign is mid-way when the old deployment stops"
        assert len(smtp_sink.received) == before

        backup, restore = backup_and_restore_lines()
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            (folder / "var" / "media").mkdir(parents=True)
            (folder / "var" / "media" / "walk.png").write_bytes(b"an uploaded picture")
            run(backup, folder, database_url())
            (folder / "var" / "media" / "walk.png").unlink()
            create_database(restored_url)
            run(restore, folder, restored_url)
            assert (folder / "var" / "media" / "walk.png").read_bytes() == b"an uploaded picture"
        assert sent_in(restored_url) == before

        # The new deployment: the restored database, and a queue of its own that holds nothing.
        fresh = {"DATABASE_URL": restored_url, "CELERY_QUEUE": f"restored-{uuid.uuid4().hex[:8]}"}
        processes.append(WorkerProcess(email_url=smtp_sink.url, extra_env=fresh).start())
        beat_folder = Path(tempfile.mkdtemp())
        processes.append(BeatProcess(beat_folder, extra_env=fresh).start())
        wait_until(
            lambda: len(smtp_sink.received) >= READERS, 360, interval=1, message="every reader"
        )
        wait_until(lambda: sent_in(restored_url) == READERS, 120, interval=1, message="the ledger")
    finally:
        old.stop()
        for process in processes:
            process.stop()
        drop_database(restored_url)

    counts = per_recipient(smtp_sink.received)
    assert set(counts) == {reader.email for reader in readers}
    assert set(counts.values()) == {1}, {a: n for a, n in counts.items() if n != 1}
    subjects = {r.message["Subject"] for r in smtp_sink.received}
    assert subjects == {Campaign.objects.get(pk=campaign.pk).subject}
