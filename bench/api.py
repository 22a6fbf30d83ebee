"""The REST API's and the webhooks' benchmarks, each compared in the same run with a baseline.

    make bench-api        # GET /api/v1/subscribers/?updated_since=… over 1,000,000 subscribers,
                          # pages of 1,000, against the same query in a bare Django view
    make bench-webhooks   # delivery to a receiver answering in 50 ms, against one at a time

    python bench/api.py sync [--subscribers 1000000] [--page 1000] [--keep]
    python bench/api.py webhooks [--events 5000] [--baseline-events 200]

Uses the PostgreSQL server of DATABASE_URL (a database of its own, engage_bench_api, created
here and dropped unless --keep) and CELERY_BROKER_URL / CACHE_URL's Redis (a queue of its own).
Targets (issue 23): the API at ≥ 50% of the bare view's rate with memory flat across pages;
webhooks at ≥ 500 events/s with the default worker count and ≥ 20× one-at-a-time delivery.
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = "engage_bench_api"
SINCE = "2000-01-01T00:00:00Z"


def _database_url() -> str:
    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"))
    return urlunsplit(base._replace(path=f"/{BENCH_DB}"))


def _admin(sql: str) -> None:
    import psycopg

    url = urlunsplit(urlsplit(_database_url())._replace(path="/postgres", scheme="postgresql"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def _env(**extra) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.api_settings",
        "DATABASE_URL": _database_url(),
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "k" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "API_RATE": "1000000/m",
        "WEBHOOK_ALLOW_LOOPBACK": "true",
        "CELERY_QUEUE": f"bench-api-{os.getpid()}",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def _setup(keep: bool) -> None:
    """A fresh, migrated bench database, and Django set up on it in this process."""
    if not keep:
        _admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    try:
        _admin(f'CREATE DATABASE "{BENCH_DB}"')
    except Exception as error:  # --keep: it is there already
        if "already exists" not in str(error):
            raise
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=_env(),
        check=True,
    )
    os.environ.update(_env())
    import django

    django.setup()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


# --- GET /api/v1/subscribers/ against the bare view -------------------------------------------


def _fill(count: int) -> None:
    from django.db import connection

    from newsletter.models import Subscriber, Topic

    if Subscriber.objects.count() >= count:
        return
    Subscriber.objects.all().delete()
    topics = {t.slug: t.pk for t in Topic.objects.all()}
    with connection.cursor() as cursor:
        # updated_at spread over the last months, with ties (a CRM sync meets both).
        cursor.execute(
            """
            INSERT INTO newsletter_subscriber (email, first_name, status, allow_tracking,
                soft_bounces, consent_source, consent_user_agent, consent_version, consent_at,
                confirmed_at, created_at, updated_at, lawful_basis, lawful_basis_evidence,
                digest_only, leaving_reason, leaving_comment, time_zone)
            SELECT 'reader' || g || '@example.org', 'Reader' || g, 'active', true, 0, '/join/',
                'bench', '2026-11', now(), now(), now(), now() - (g / 3) * interval '1 second',
                'consent', 'bench', false, '', '', ''
            FROM generate_series(1, %s) AS g
            """,
            [count],
        )
        through = Subscriber.topics.through._meta.db_table
        for slug, every in (("news", 1), ("events", 2), ("education", 3)):
            cursor.execute(
                f"INSERT INTO {through} (subscriber_id, topic_id) "  # noqa: S608 - our own names
                "SELECT id, %s FROM newsletter_subscriber WHERE id %% %s = 0",
                [topics[slug], every],
            )
        cursor.execute("ANALYZE")


class Web:
    """gunicorn with one worker (so its memory is one process's), production settings."""

    def __init__(self):
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="bench-api-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "engage.wsgi:application"),
                *("--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--timeout", "120"),
            ],
            cwd=ROOT,
            env=_env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def worker(self) -> psutil.Process:
        return psutil.Process(self.proc.pid).children()[0]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def _stream(port: int, path: str, headers: dict, page: int, memory) -> tuple[int, float, list]:
    """Follow next_cursor to the end: (rows, seconds, worker RSS samples in MB)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    rows, cursor, samples, pages = 0, None, [], 0
    started = time.perf_counter()
    while True:
        query = f"?updated_since={SINCE}&limit={page}" + (f"&cursor={cursor}" if cursor else "")
        conn.request("GET", path + query, headers=headers)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"{path}: {response.status} {body[:300]!r}")
        data = json.loads(body)
        rows += len(data["results"])
        cursor = data["next_cursor"]
        pages += 1
        if pages % 50 == 1:
            samples.append(memory().memory_info().rss / 2**20)
        if not cursor:
            break
    elapsed = time.perf_counter() - started
    samples.append(memory().memory_info().rss / 2**20)
    conn.close()
    return rows, elapsed, samples


def bench_sync(args) -> dict:
    _setup(args.keep)
    from newsletter.api import keys

    print(f"Filling {args.subscribers:,} subscribers …", flush=True)
    _fill(args.subscribers)
    secret = keys.key_create(name=f"bench {time.time()}", scope="subscribers")[1]
    web = Web()
    try:
        conn_ok = lambda: _port_open(web.port)  # noqa: E731
        _wait(conn_ok, 60, "gunicorn")
        api = ("/api/v1/subscribers/", {"Authorization": f"Bearer {secret}"})
        bare = ("/bench/subscribers/", {})
        for path, headers in (bare, api):  # warm both (imports, plans, connections)
            _stream_pages(web.port, path, headers, args.page, 20)
        results = {}
        for name, (path, headers) in (("bare view", bare), ("API", api)):
            rows, seconds, memory = _stream(web.port, path, headers, args.page, web.worker)
            results[name] = {"rows": rows, "seconds": seconds, "memory": memory}
            print(
                f"  {name:9}: {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s; "
                f"worker RSS {memory[0]:.0f} → max {max(memory):.0f} → {memory[-1]:.0f} MB",
                flush=True,
            )
    finally:
        web.stop()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            _admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    api_rate = results["API"]["rows"] / results["API"]["seconds"]
    bare_rate = results["bare view"]["rows"] / results["bare view"]["seconds"]
    ratio = api_rate / bare_rate
    growth = max(results["API"]["memory"]) - results["API"]["memory"][0]
    complete = results["API"]["rows"] == args.subscribers
    print(
        f"\nGET /api/v1/subscribers/?updated_since=… ({args.subscribers:,} rows, pages of "
        f"{args.page:,})\n"
        f"  every row once: {complete}\n"
        f"  API / bare view: {ratio:.2f} (target ≥ 0.50): {verdict(ratio >= 0.5)}\n"
        f"  memory growth across the API's pages: {growth:.1f} MB (flat: ≤ 20 MB): "
        f"{verdict(growth <= 20)}"
    )
    return {"ratio": ratio, "growth": growth, "complete": complete}


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _stream_pages(port: int, path: str, headers: dict, page: int, count: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(count):
        conn.request("GET", f"{path}?updated_since={SINCE}&limit={page}", headers=headers)
        conn.getresponse().read()
    conn.close()


# --- Webhooks: windows of concurrent sends against one at a time ------------------------------


class Receiver:
    def __init__(self, secret: str, delay: float):
        self.port = _free_port()
        self.out = Path(tempfile.mkstemp(prefix="bench-webhooks-", suffix=".jsonl")[1])
        command = [sys.executable, "-m", "tests.api.receiver", str(self.port), secret]
        self.proc = subprocess.Popen([*command, str(self.out), str(delay)], cwd=ROOT)
        _wait(lambda: _port_open(self.port), 30, "the receiver")

    def arrivals(self) -> list[dict]:
        return [json.loads(line) for line in self.out.read_text().splitlines() if line]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _deliver(events: int, delay: float, **worker_env) -> dict:
    """Emit `events` for a fresh endpoint, then start a worker (default concurrency) and time
    the receiver's arrivals, first to last."""
    from newsletter.api import outbox, webhooks
    from newsletter.models import WebhookDelivery, WebhookEndpoint

    secret = webhooks.new_secret()
    receiver = Receiver(secret, delay)
    endpoint = WebhookEndpoint.objects.create(
        name=f"bench {receiver.port}",
        url=f"http://127.0.0.1:{receiver.port}/hook",
        events=["subscriber.unsubscribed"],
        scope="full",
        secret=secret,
    )
    for n in range(events):
        outbox.emit(
            "subscriber.unsubscribed",
            {"subscriber": {"id": n, "email": f"r{n}@example.org", "status": "unsubscribed"}},
        )
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "engage", "worker", "--loglevel=WARNING"],
        cwd=ROOT,
        env=_env(**worker_env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        done = WebhookDelivery.objects.filter(endpoint=endpoint, status="delivered")
        _wait(lambda: done.count() >= events, 600, f"{events} deliveries")
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(60)
        receiver.stop()
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    arrivals = receiver.arrivals()
    times = sorted(each["at"] for each in arrivals)
    verified = all(each["verified"] for each in arrivals)
    sequences = sorted({each["payload"]["sequence"] for each in arrivals})
    seconds = times[-1] - times[0]
    return {
        "events": events,
        "rate": (len(times) - 1) / seconds if seconds else float("inf"),
        "verified": verified,
        "complete": sequences == list(range(1, events + 1)),
    }


def bench_webhooks(args) -> dict:
    _setup(keep=False)
    try:
        print(f"One at a time (WEBHOOK_WINDOW=1): {args.baseline_events} events …", flush=True)
        single = _deliver(args.baseline_events, args.delay, WEBHOOK_WINDOW="1")
        print(f"  {single['rate']:.1f} events/s", flush=True)
        print(f"Windows (WEBHOOK_WINDOW default): {args.events} events …", flush=True)
        windows = _deliver(args.events, args.delay)
        print(f"  {windows['rate']:.1f} events/s", flush=True)
    finally:
        from django.db import connections

        connections.close_all()
        _admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    ratio = windows["rate"] / single["rate"]
    ok = windows["verified"] and windows["complete"] and single["complete"]
    print(
        f"\nWebhooks to a receiver answering in {args.delay * 1000:.0f} ms (worker: Celery's "
        f"default concurrency, {os.cpu_count()} processes)\n"
        f"  every event arrived, verified (Standard Webhooks): {ok}\n"
        f"  windows: {windows['rate']:.0f} events/s (target ≥ 500): "
        f"{verdict(windows['rate'] >= 500)}\n"
        f"  one at a time: {single['rate']:.1f} events/s; ratio {ratio:.1f}× (target ≥ 20×): "
        f"{verdict(ratio >= 20)}"
    )
    return {"rate": windows["rate"], "ratio": ratio, "ok": ok}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    which = parser.add_subparsers(dest="which", required=True)
    sync = which.add_parser("sync")
    sync.add_argument("--subscribers", type=int, default=1_000_000)
    sync.add_argument("--page", type=int, default=1000)
    sync.add_argument("--keep", action="store_true", help="keep (and reuse) the bench database")
    hooks = which.add_parser("webhooks")
    hooks.add_argument("--events", type=int, default=5000)
    hooks.add_argument("--baseline-events", type=int, default=200)
    hooks.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    if args.which == "sync":
        bench_sync(args)
    else:
        bench_webhooks(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
