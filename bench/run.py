"""Engage's delivery benchmark: the raw SMTP limit next to a real digest campaign, end to end.

    make bench                                  # 10,000 subscribers
    make bench BENCH_ARGS="--subscribers 100000"
    make bench-delivery BENCH_ARGS="--subscribers 1000000 --stop-after 50000"

Uses the PostgreSQL server of DATABASE_URL (its own database, engage_bench, created and dropped
here) and a redis-server of its own on a free port (or, without one, a DB number of
CELERY_BROKER_URL's server: --redis-db).
See bench/README.md.
"""

import argparse
import atexit
import contextlib
import multiprocessing
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import targets  # noqa: E402 - after the path is set

# A database of its own (dropped WITH FORCE when it starts): BENCH_DB names another, so that two
# people benchmarking on one PostgreSQL server do not drop each other's.
BENCH_DB = os.environ.get("BENCH_DB", "engage_bench")


# --- The sink: aiosmtpd in a process of its own, counting what it accepts ------------------------


def _sink_main(port: int, accepted, ready) -> None:
    import asyncio

    from aiosmtpd.controller import Controller

    class Counter:
        async def handle_DATA(self, server, session, envelope):
            with accepted.get_lock():
                accepted.value += len(envelope.rcpt_tos)
            return "250 Message accepted for delivery"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    signal.signal(signal.SIGTERM, lambda *_: controller.stop() or os._exit(0))
    asyncio.run(asyncio.Event().wait())


class Sink:
    def __init__(self):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.accepted = multiprocessing.Value("q", 0)
        ready = multiprocessing.Event()
        self.proc = multiprocessing.Process(
            target=_sink_main, args=(self.port, self.accepted, ready), daemon=True
        )
        self.proc.start()
        ready.wait(10)

    @property
    def count(self) -> int:
        return self.accepted.value

    def reset(self) -> None:
        with self.accepted.get_lock():
            self.accepted.value = 0

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5)


# --- Environment: a database and a Redis DB of the benchmark's own -------------------------------


def with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(url: str) -> None:
    import psycopg

    admin = with_db(url, "postgres")
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {BENCH_DB}")


def drop_database(url: str) -> None:
    import psycopg

    admin = with_db(url, "postgres")
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


class OwnRedis:
    """A Redis server of the benchmark's own: a shared one may be flushed by other test suites
    (their cache.clear()) in the middle of a run, losing the queued batches."""

    def __init__(self):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def environment(args, sink: Sink, own_redis: "OwnRedis | None") -> dict:
    database = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    broker = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    broker = own_redis.url if own_redis else with_db(broker, str(args.redis_db))
    return {
        "DATABASE_URL": with_db(database, BENCH_DB),
        "CELERY_BROKER_URL": broker,
        "CACHE_URL": broker,
        "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "DEFAULT_FROM_EMAIL": "Bench Charity <news@bench-charity.org.uk>",
        "ORGANISATION_NAME": "Bench Charity",
        "ORGANISATION_ADDRESS": "Bench Charity, 2 High Street, Leeds LS1 1AA, UK",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": "https://engage.example.org",
        "LOG_LEVEL": "WARNING",
        "SEND_RATE_PER_SECOND": "0",
        "DJANGO_SETTINGS_MODULE": "engage.settings",
    }


# --- Data ----------------------------------------------------------------------------------------


def seed(count: int) -> None:
    """`count` active subscribers, all to news, half also events, a third also education (so a
    digest has several distinct bodies), and a week of posts."""
    from django.db import connection
    from django.utils import timezone

    from newsletter.models import DigestSchedule, Post, Subscriber, Topic

    topics = {t.slug: t for t in Topic.objects.all()}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO newsletter_subscriber (email, first_name, status, allow_tracking,
                soft_bounces, consent_source, consent_user_agent, consent_version, consent_at,
                confirmed_at, created_at, updated_at, lawful_basis, lawful_basis_evidence,
                digest_only, leaving_reason, leaving_comment, time_zone, plain_text_only,
                larger_text, no_images)
            SELECT 'reader' || g || '@example.org', 'Reader' || g, 'active', true, 0, '/join/',
                'bench', '2026-11', now(), now(), now(), now(), 'consent', 'bench', false, '', '',
                '', false, false, false
            FROM generate_series(1, %s) AS g
            """,
            [count],
        )
        through = Subscriber.topics.through._meta.db_table
        for slug, every in (("news", 1), ("events", 2), ("education", 3)):
            cursor.execute(
                f"INSERT INTO {through} (subscriber_id, topic_id) "  # noqa: S608 - our own names
                "SELECT id, %s FROM newsletter_subscriber WHERE id %% %s = 0",
                [topics[slug].pk, every],
            )
    now = timezone.now()
    summary = (
        "Fasciculations (muscle twitches) are common and usually harmless. Here is what "
        "distinguishes benign fasciculation syndrome from ALS, and when to see a doctor. "
    )
    for i, slug in enumerate(["news", "events", "education", "news", "education"]):
        Post.objects.create(
            kind=slug if slug != "events" else "event",
            title=f"Post {i}: what we learned this week about {slug}",
            slug=f"bench-post-{i}",
            summary=summary * 2,
            body=summary * 10,
            url=f"https://engage.example.org/posts/{i}/",
            topic=topics[slug],
            status=Post.Status.PUBLISHED,
            published_at=now - timedelta(hours=i + 1),
        )
    schedule = DigestSchedule.objects.create(
        name="Bench digest",
        time_of_day="09:00",
        subject="Your digest, {date}",
        intro="Thank you for being with us. Here is what happened this week.",
        next_run_at=now - timedelta(seconds=1),
    )
    schedule.topics.set([topics["news"], topics["events"], topics["education"]])
    # A real list of this size has table statistics (autovacuum gathers them as it grows); this
    # machine's server runs with autovacuum off, so without them each batch's topic lookup was
    # planned as a scan of every reader's topics (150 ms a batch at 1,000,000 readers).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- Measurements --------------------------------------------------------------------------------


def schedule_digest():
    """A digest of the seeded posts, scheduled for now (what beat's digest tick would make).

    Each measurement composes its own over the whole seeded week: "since the last digest" would
    leave the second measurement's digest empty (compose_digest answers None)."""
    from datetime import timedelta

    from django.utils import timezone

    from newsletter.campaigns import digests, scheduling
    from newsletter.models import DigestSchedule

    schedule = DigestSchedule.objects.get()
    # Each run composes its own digest; the schedule must not add one of its own on the tick.
    DigestSchedule.objects.update(next_run_at=timezone.now() + timedelta(days=365))
    campaign = digests.compose_digest(
        topics=list(schedule.topics.all()),
        since=timezone.now() - timedelta(days=7),
        until=None,
        subject=schedule.subject,
        intro=schedule.intro,
    )
    if campaign is None:
        raise RuntimeError("the seeded posts make no digest: bench/run.py's seed() changed?")
    return scheduling.campaign_schedule(campaign=campaign)


def sample_messages(count: int) -> list[tuple[str, bytes]]:
    """Real Engage message bytes for the raw runs (built once, before timing): the digest the
    schedule would send, composed in a throwaway campaign."""
    from django.db import transaction

    from newsletter.campaigns import digests
    from newsletter.models import DigestSchedule

    schedule = DigestSchedule.objects.get()
    with transaction.atomic():
        campaign = digests.compose_digest(
            topics=list(schedule.topics.all()),
            since=None,
            until=None,
            subject=schedule.subject,
            intro=schedule.intro,
        )
        messages = _messages(campaign, count)
        transaction.set_rollback(True)
    return messages


def _messages(campaign, count: int) -> list[tuple[str, bytes]]:
    from newsletter.campaigns.audience import topics_of
    from newsletter.campaigns.snapshot import render_body
    from newsletter.mail import rendering
    from newsletter.mail.messages import MessageBuilder, new_message_id
    from newsletter.models import Subscriber

    builder = MessageBuilder(campaign)
    people = list(Subscriber.objects.order_by("pk")[:count])
    topics = topics_of([p.pk for p in people])
    bodies, out = {}, []
    for person in people:
        key = topics.get(person.pk, frozenset())
        if key not in bodies:
            bodies[key] = render_body(campaign, key)
        personalised = rendering.personalise(bodies[key], person)
        data = builder.as_bytes(person, personalised, new_message_id())
        out.append((person.email, data))
    return out


def raw_limit(sink: Sink, messages: list[tuple[str, bytes]]) -> float:
    sink.reset()
    with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        started = time.perf_counter()
        for address, data in messages:
            smtp.sendmail("news@engage.example.org", [address], data)
        elapsed = time.perf_counter() - started
    return len(messages) / elapsed


class MemoryWatch(threading.Thread):
    """Peak RSS of a process and its children, sampled."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        import psutil

        self.root = psutil.Process(pid)
        self.peak_total = 0
        self.peak_process = 0
        self.running = True

    def run(self):
        import psutil

        while self.running:
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                sizes = [p.memory_info().rss for p in procs]
            except psutil.Error:
                sizes = []
            if sizes:
                self.peak_total = max(self.peak_total, sum(sizes))
                self.peak_process = max(self.peak_process, max(sizes))
            time.sleep(0.1)

    def stop(self):
        self.running = False
        self.join(2)


def start_worker(env: dict, concurrency: int, name: str = "bench") -> tuple[subprocess.Popen, Path]:
    log = Path(tempfile.mkstemp(prefix="engage-bench-worker-", suffix=".log")[1])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "engage",
            "worker",
            "--loglevel=WARNING",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{name}-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc, log


def stop_worker(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a benchmark's worker whatever it is doing. A warm shutdown (SIGTERM) waits for the
    tasks at hand, and at a million readers one of them is still queueing batches when the run
    stops early (--stop-after): after `timeout` the whole process group is killed. Nothing is
    lost that the benchmark needs (its figures are taken, its database is dropped)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)


def wait_for_worker(app) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError("the worker did not start")


def prepared(campaign_model) -> bool:
    """Whether the digest's ledger is written (its campaign has prepared_at)."""
    return campaign_model.objects.exclude(prepared_at=None).exists()


FIRST_STRETCH = 100_000
LEDGER_SIZE = 1_000_000
MEMORY_POINT = 10_000


def judge(n, raw, first, first_rate, prepare_seconds, memory_at_10k, memory_peak) -> None:
    """Issue 24's delivery targets, each met or MISSED (bench/targets.py)."""
    # A small ledger's time is mostly the start (the task's queueing, the audience query): the
    # target is judged at its own size only.
    rows_per_second = n / max(prepare_seconds, 0.001)
    targets.verdict(
        "ledger for 1,000,000 readers in ≤ 10 s",
        rows_per_second >= targets.LEDGER_ROWS_PER_SECOND if n >= LEDGER_SIZE else None,
        f"{n:,} rows in {prepare_seconds:.1f} s ({rows_per_second:,.0f} rows/s)"
        + ("" if n >= LEDGER_SIZE else "; judged at 1,000,000 readers"),
    )
    targets.verdict(
        f"end to end ≥ {targets.END_TO_END_RATIO} × raw over the first 100,000",
        first_rate / raw >= targets.END_TO_END_RATIO,
        f"{first_rate / raw:.2f} ({first_rate:.0f} against {raw:.0f} msg/s over the first "
        f"{first:,}{'' if first == FIRST_STRETCH else ': the run sent fewer than 100,000'})",
    )
    if memory_at_10k is None or n <= MEMORY_POINT:
        targets.verdict(
            "worker memory within 10% of the 10,000-reader run",
            None,
            "the run sent no more than 10,000: nothing to compare",
        )
    else:
        growth = memory_peak / memory_at_10k - 1
        targets.verdict(
            "worker memory within 10% of the 10,000-reader run",
            growth <= targets.MEMORY_GROWTH,
            f"{memory_peak / 2**20:.0f} MiB peak against {memory_at_10k / 2**20:.0f} MiB once "
            f"10,000 were sent ({growth:+.1%})",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--raw-messages", type=int, default=10_000, help="size of the raw run")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="worker processes (they mostly wait on I/O)"
    )
    parser.add_argument(
        "--redis-db",
        type=int,
        default=15,
        help="without redis-server on PATH: the DB of CELERY_BROKER_URL's server to use "
        "for the broker and the cache (emptied at the start)",
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        default=0,
        help="stop the end-to-end run once the ledger is written and this many messages are "
        "sent (a first stretch of a very large list); 0 = send them all",
    )
    parser.add_argument("--keep", action="store_true", help="keep the engage_bench database")
    args = parser.parse_args()

    from tqdm import tqdm

    sink = Sink()
    atexit.register(sink.stop)
    own_redis = OwnRedis() if shutil.which("redis-server") else None
    if own_redis:
        atexit.register(own_redis.stop)
    env = environment(args, sink, own_redis)
    recreate_database(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"))
    os.environ.update(env)

    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count

    from engage.celery import app
    from newsletter import tasks
    from newsletter.models import Campaign, Delivery

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()
    call_command("migrate", verbosity=0)

    n = args.subscribers
    print(f"Engage delivery benchmark: {n:,} subscribers, {args.concurrency} worker processes")
    started = time.perf_counter()
    seed(n)
    print(f"  seeded {n:,} subscribers in {time.perf_counter() - started:.1f}s")

    # (1) The raw limit, before and after the end-to-end run (the machine's load varies).
    sample = sample_messages(min(args.raw_messages, n))
    raw_before = raw_limit(sink, sample)

    worker, log = start_worker(env, args.concurrency)
    watch = MemoryWatch(worker.pid)
    try:
        wait_for_worker(app)
        watch.start()

        # (2) End to end: beat's tick → digest composed and scheduled → ledger → batches → sink.
        sink.reset()
        target = min(n, args.stop_after) if args.stop_after else n
        # The targets' reference points: the rate over the first 100,000 (or all, if fewer),
        # and the worker's memory once 10,000 were sent (the 10,000-reader run's footprint).
        first = min(FIRST_STRETCH, target)
        first_elapsed = None
        memory_at_10k = None
        started = time.perf_counter()
        tasks.tick.delay()
        last_tick = time.monotonic()
        with tqdm(total=target, desc="  end to end", unit="msg", leave=False, mininterval=2) as bar:
            while sink.count < target or not prepared(Campaign):
                time.sleep(0.2)
                count = sink.count
                if first_elapsed is None and count >= first:
                    first_elapsed = time.perf_counter() - started
                if memory_at_10k is None and count >= MEMORY_POINT:
                    memory_at_10k = watch.peak_total
                if time.monotonic() - last_tick >= 60:  # as beat does
                    tasks.tick.delay()
                    last_tick = time.monotonic()
                bar.update(count - bar.n)
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker died:\n{log.read_text()}")
        elapsed = time.perf_counter() - started
        sent = sink.count
        end_to_end = sent / elapsed
        first_rate = first / (first_elapsed or elapsed)
        watch.stop()

        if target == n:
            tasks.tick.apply()  # as beat's next tick would: the campaign becomes sent
        campaign = Campaign.objects.get()
        counts = dict(
            Delivery.objects.filter(campaign=campaign)
            .values_list("status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        prepare_seconds = (campaign.prepared_at - campaign.started_at).total_seconds()
    finally:
        stop_worker(worker)

    raw_after = raw_limit(sink, sample)
    raw = (raw_before + raw_after) / 2
    connection.close()

    print()
    print(
        f"  raw limit (smtplib, one connection)  {raw:8.0f} msg/s  ({len(sample):,} messages;"
        f" {raw_before:.0f} before, {raw_after:.0f} after)"
    )
    early = f", stopped early by --stop-after: {n:,} in the ledger" if target < n else ""
    print(
        f"  Engage end to end (tick → sink)      {end_to_end:8.0f} msg/s"
        f"  ({sent:,} in {elapsed:.1f}s{early})"
    )
    print(
        f"  end to end over the first {first:,}      {first_rate:8.0f} msg/s"
        f"  (ratio {first_rate / raw:.2f} of the raw limit)"
    )
    print(f"  ledger prepared                      {prepare_seconds:8.1f} s  for {n:,} rows")
    print(
        f"  worker peak memory                   {watch.peak_total / 2**20:8.0f} MiB total,"
        f" {watch.peak_process / 2**20:.0f} MiB largest process"
    )
    print(f"  campaign {campaign.status}: {counts}")
    average = len(sample[0][1]) if sample else 0
    print(f"  message size ≈ {average / 1024:.1f} KiB; worker log: {log}")
    judge(n, raw, first, first_rate, prepare_seconds, memory_at_10k, watch.peak_total)

    if not args.keep:
        drop_database(os.environ["DATABASE_URL"])


if __name__ == "__main__":
    main()
