"""Engage's web load test: signup throughput and latency beside a bare Django view, and a flood.

    .venv/bin/python bench/load.py                    # 10 s per run, 2 gunicorn workers
    .venv/bin/python bench/load.py --duration 30 --connections 8

Runs gunicorn (bench/settings.py: Engage plus a bare view, DEBUG off) on a free loopback port
against a PostgreSQL cluster of its own (tests/pgserver.py, fsync on; or, with --shared-postgres,
the server of DATABASE_URL), in a database engage_bench_load created, migrated and dropped here,
and a redis-server of its own on a free port (broker and cache), and measures with wrk
(bench/wrk.lua):

  1. GET  /bench/bare/        the same middleware stack and no work: the yardstick
  2. GET  /join/              the Join Us page
  3. POST /api/subscribe/     a new address every request, the signup rate limit off
  4. POST /api/subscribe/     a flood from one address (127.0.0.1) at a few target addresses, the
                              rate limit on, a real Celery worker sending confirmations to an SMTP
                              server in this process: counts the 429s and the emails per address.

Targets (issue 6): signup >= 20% of the bare view's req/s, p99 < 50 ms; under the flood, 429s and
at most one confirmation email per target address per resend window. See bench/LOAD.md.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "engage_bench_load"
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk.lua"
TARGET_RATIO = 0.20
TARGET_P99_MS = 50.0


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("wrk is missing: installing the Debian package")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is required: install it (Debian: apt-get install wrk) and try again")
    return found


# --- Environment: a database and Redis DBs of the load test's own ------------------------------


def with_path(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def admin_connection(database_url: str):
    import psycopg

    admin = with_path(database_url, "postgres").replace("postgres://", "postgresql://", 1)
    return psycopg.connect(admin, autocommit=True)


def recreate_database(database_url: str) -> None:
    with admin_connection(database_url) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")


def drop_database(database_url: str) -> None:
    with admin_connection(database_url) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


class RedisServer:
    """A Redis server of the load test's own on a free port: the broker and the rate-limit cache
    are flushed between runs, which must never touch another process's Redis data."""

    def __init__(self):
        binary = shutil.which("redis-server")
        if not binary:
            raise SystemExit("redis-server is required (Debian: apt-get install redis-server)")
        self.port = free_port()
        self.process = Process(
            "redis",
            [
                *(binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            dict(os.environ),
        )

        def answers() -> bool:
            self.process.check_alive()
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.port)) == 0

        wait_until(answers, 30, "redis-server to listen")

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        self.process.stop()


def environment(args, redis_server: RedisServer, database: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": with_path(database, BENCH_DB),
        "CELERY_BROKER_URL": redis_server.url(0),
        "CACHE_URL": redis_server.url(1),
        "EMAIL_URL": "dummymail://",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": "https://engage.example.org",
        # Every 429 and 400 is a WARNING from django.request: thousands of lines per second.
        "LOG_LEVEL": "ERROR",
        "CONN_MAX_AGE": str(args.conn_max_age),
        "PYTHONUNBUFFERED": "1",
    }


def migrate(env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def subscriber_counts(env: dict) -> dict:
    import psycopg

    url = env["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        total, claimed = conn.execute(
            "SELECT count(*), count(confirmation_sent_at) FROM newsletter_subscriber"
        ).fetchone()
        # What a signup stores before its 202 (the subscriber comes later, from the worker).
        (requests,) = conn.execute("SELECT count(*) FROM newsletter_signuprequest").fetchone()
    return {"subscribers": total, "confirmation_sent": claimed, "signup_requests": requests}


# --- Processes: gunicorn, a Celery worker, an SMTP server ---------------------------------------


class Process:
    def __init__(self, name: str, command: list[str], env: dict):
        self.name = name
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - written until stop()
            prefix=f"engage-load-{name}-", suffix=".log", delete=False
        )
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise SystemExit(f"{self.name} exited:\n{self.output()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)


def start_gunicorn(env: dict, args, *, rate_limited: bool) -> tuple[Process, int]:
    port = free_port()
    env = {**env, "RATELIMIT_ENABLE": "true" if rate_limited else "false"}
    command = [
        *(sys.executable, "-m", "gunicorn", "engage.wsgi:application"),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(args.workers)),
        *("--worker-class", args.worker_class, "--threads", str(args.threads)),
        *("--backlog", "2048", "--log-level", "warning"),
    ]
    server = Process("gunicorn", command, env)

    def answers() -> bool:
        server.check_alive()
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    wait_until(answers, 60, "gunicorn to listen")
    return server, port


def start_worker(env: dict) -> Process:
    worker = Process(
        "celery",
        [
            *(sys.executable, "-m", "celery", "-A", "engage", "worker", "--loglevel=INFO"),
            *("--concurrency=1", "--pool=prefork", "-n", f"load-{os.getpid()}@%h"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ],
        env,
    )

    def ready() -> bool:
        worker.check_alive()
        return " ready." in worker.output()

    wait_until(ready, 60, "the Celery worker to start")
    return worker


class Mailbox:
    """An SMTP server in this process (aiosmtpd runs in a thread) counting messages per address."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()
        mailbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with mailbox.lock:
                    mailbox.received.update(address.lower() for address in envelope.rcpt_tos)
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(self.received)

    def stop(self) -> None:
        self.controller.stop()


# --- Measuring -----------------------------------------------------------------------------------


def run_wrk(wrk: str, port: int, args, path: str, *script_args: str) -> dict:
    command = [
        wrk,
        *("--threads", str(args.wrk_threads), "--connections", str(args.connections)),
        *("--duration", f"{args.duration}s", "--timeout", "10s"),
        *("--script", str(WRK_SCRIPT)),
        f"http://127.0.0.1:{port}{path}",
        "--",
        *script_args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    line = [line for line in result.stdout.splitlines() if line.startswith("{")][-1]
    figures = json.loads(line)
    seconds = figures["duration_us"] / 1e6
    figures["rps"] = figures["requests"] / seconds
    figures["p99_ms"] = figures["p99_us"] / 1000
    figures["p50_ms"] = figures["p50_us"] / 1000
    return figures


def measure(name: str, wrk: str, port: int, args, path: str, *script_args: str) -> dict:
    say(f"{name}: {args.duration} s, {args.connections} connections …")
    figures = run_wrk(wrk, port, args, path, *script_args)
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(figures["statuses"].items()))
    errors = {kind: n for kind, n in figures["errors"].items() if n}
    say(
        f"{name}: {figures['rps']:.0f} req/s, p50 {figures['p50_ms']:.1f} ms, "
        f"p99 {figures['p99_ms']:.1f} ms  (statuses {statuses}; socket errors {errors or 'none'})"
    )
    return figures


def median_of(runs: list[dict]) -> dict:
    """The median of each figure over rounds; status counts added up."""
    statuses = Counter()
    for run in runs:
        statuses.update(run["statuses"])
    return {
        "rps": statistics.median(r["rps"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "p99_ms_worst": max(r["p99_ms"] for r in runs),
        "statuses": dict(statuses),
    }


def warm_up(wrk: str, port: int, args, *, signups: bool = True) -> None:
    # Each worker's first requests import views and open connections; not what we measure. (No
    # signups before the flood: they would use up the rate limit it is about.)
    quick = argparse.Namespace(**{**vars(args), "duration": 2})
    for path in ("/bench/bare/", "/join/"):
        run_wrk(wrk, port, quick, path, "get")
    if signups:
        run_wrk(wrk, port, quick, "/", "subscribe", "warmup")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three runs")
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--conn-max-age", type=int, default=60, help="CONN_MAX_AGE, seconds")
    parser.add_argument("--flood-targets", type=int, default=3, help="addresses the flood hits")
    parser.add_argument(
        "--shared-postgres",
        action="store_true",
        help="use the PostgreSQL server of DATABASE_URL instead of a private one",
    )
    parser.add_argument(
        "--keep", action="store_true", help="with --shared-postgres: keep the database afterwards"
    )
    args = parser.parse_args()

    wrk = ensure_wrk()
    redis_server = RedisServer()
    postgres = None
    if args.shared_postgres:
        database = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    else:
        # A cluster of our own (fsync on, as in production): on a shared server, other people's
        # writes queue up with our commits and their queries take our CPU.
        from tests.pgserver import PgServer

        postgres = PgServer(durable=True).start()
        database = postgres.url("postgres")
    env = environment(args, redis_server, database)
    say(f"database {env['DATABASE_URL']}, broker {env['CELERY_BROKER_URL']} (own redis-server)")
    recreate_database(env["DATABASE_URL"])
    migrate(env)
    results: dict[str, dict] = {}
    try:
        server, port = start_gunicorn(env, args, rate_limited=False)
        say(
            f"gunicorn on 127.0.0.1:{port}: {args.workers} {args.worker_class} workers × "
            f"{args.threads} threads; CONN_MAX_AGE={args.conn_max_age}"
        )
        try:
            warm_up(wrk, port, args)
            # Rounds, each measuring the three back to back: a burst of other work on the machine
            # then hits one round's figures, not one scenario's.
            rounds = []
            for number in range(1, args.rounds + 1):
                say(f"round {number} of {args.rounds}")
                bare = measure("bare view", wrk, port, args, "/bench/bare/", "get")
                join = measure("GET /join/", wrk, port, args, "/join/", "get")
                before = subscriber_counts(env)["signup_requests"]
                signup = measure(
                    "POST /api/subscribe/", wrk, port, args, "/", "subscribe", f"r{number}"
                )
                time.sleep(1)  # requests in flight when wrk stopped still complete and store
                signup["stored"] = subscriber_counts(env)["signup_requests"] - before
                signup["ratio"] = signup["rps"] / bare["rps"]
                say(
                    f"round {number}: signup {signup['ratio']:.0%} of the bare view; "
                    f"{signup['statuses'].get('202', 0)} answered 202, {signup['stored']} stored"
                )
                rounds.append(
                    {"bare view": bare, "GET /join/": join, "POST /api/subscribe/": signup}
                )
        finally:
            server.stop()
        for name in rounds[0]:
            results[name] = median_of([r[name] for r in rounds])
        signups = [r["POST /api/subscribe/"] for r in rounds]
        results["POST /api/subscribe/"]["ratio"] = statistics.median(s["ratio"] for s in signups)
        results["POST /api/subscribe/"]["lost"] = sum(
            max(s["statuses"].get("202", 0) - s["stored"], 0) for s in signups
        )

        # The flood: a worker really sends the confirmations, to the mailbox here.
        flush_redis(env["CELERY_BROKER_URL"])
        flush_redis(env["CACHE_URL"])
        mailbox = Mailbox()
        flood_env = {**env, "EMAIL_URL": f"smtp://127.0.0.1:{mailbox.port}"}
        worker = start_worker(flood_env)
        server, port = start_gunicorn(flood_env, args, rate_limited=True)
        try:
            warm_up(wrk, port, args, signups=False)
            flood = measure(
                "flood from one address",
                wrk,
                port,
                args,
                "/",
                "flood",
                "flood",
                str(args.flood_targets),
            )
            results["flood"] = flood
            accepted = flood["statuses"].get("202", 0)
            expected = min(accepted, args.flood_targets)
            say(f"waiting for the worker to send what the {accepted} accepted signups queued …")
            wait_until(lambda: sum(mailbox.counts().values()) >= expected, 60, "confirmations")
            time.sleep(3)  # anything more that was going to arrive, arrives
        finally:
            server.stop()
            worker.stop()
            mailbox.stop()
        per_address = mailbox.counts()
        flood["emails_per_address"] = dict(per_address)
    finally:
        if postgres is not None:
            postgres.destroy()
        elif not args.keep:
            drop_database(env["DATABASE_URL"])
        redis_server.stop()

    report(results, args)
    return 0 if passed(results, args) else 1


def passed(results: dict, args) -> bool:
    signup = results["POST /api/subscribe/"]
    flood = results["flood"]
    return (
        signup["ratio"] >= TARGET_RATIO
        and signup["p99_ms"] < TARGET_P99_MS
        and signup["lost"] == 0
        and not any(code.startswith("5") for r in results.values() for code in r["statuses"])
        and flood["statuses"].get("429", 0) > 0
        and max(flood["emails_per_address"].values(), default=0) <= 1
    )


def report(results: dict, args) -> None:
    bare = results["bare view"]["rps"]
    print()
    print(
        f"{args.rounds} rounds × {args.duration} s per run (medians; the flood once), "
        f"{args.connections} connections, gunicorn {args.workers} × {args.worker_class} "
        f"({args.threads} thread(s)), CONN_MAX_AGE={args.conn_max_age}"
    )
    print(f"{'run':<24}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'of bare':>9}  statuses")
    for name, r in results.items():
        statuses = " ".join(f"{code}×{n}" for code, n in sorted(r["statuses"].items()))
        print(
            f"{name:<24}{r['rps']:>8.0f}{r['p50_ms']:>8.1f}{r['p99_ms']:>8.1f}"
            f"{r['rps'] / bare:>9.0%}  {statuses}"
        )
    signup = results["POST /api/subscribe/"]
    flood = results["flood"]
    print()
    print(
        f"signup: {signup['ratio']:.0%} of the bare view measured in the same round (median; "
        f"target ≥ {TARGET_RATIO:.0%}), p99 {signup['p99_ms']:.1f} ms (median; worst round "
        f"{signup['p99_ms_worst']:.1f} ms; target < {TARGET_P99_MS:.0f} ms); "
        f"{signup['lost']} accepted signups not stored"
    )
    emails = flood["emails_per_address"]
    print(
        f"flood: {flood['statuses'].get('429', 0)} × 429, {flood['statuses'].get('202', 0)} × 202;"
        f" confirmation emails per target address: {emails or 'none'} (at most 1 allowed)"
    )
    print("PASS" if passed(results, args) else "FAIL")


if __name__ == "__main__":
    sys.exit(main())
