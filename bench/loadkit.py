"""The parts bench/load.py and bench/viral.py share: processes of their own (gunicorn, a Celery
worker, redis-server, an SMTP mailbox), a database of their own, and wrk runs."""

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
        "DEFAULT_FROM_EMAIL": "Bench Charity <news@bench-charity.org.uk>",
        "ORGANISATION_NAME": "Bench Charity",
        "ORGANISATION_ADDRESS": "Bench Charity, 2 High Street, Leeds LS1 1AA, UK",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": "https://engage.example.org",
        # Every 429 and 400 is a WARNING from django.request: thousands of lines per second.
        "LOG_LEVEL": "ERROR",
        "CONN_MAX_AGE": str(args.conn_max_age),
        "PYTHONUNBUFFERED": "1",
        # ./gunicorn.conf.py (production's) applies, but without the access log: thousands of
        # lines a second would measure the disk, as they did not before.
        "GUNICORN_ACCESS_LOG": "",
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


def start_worker(env: dict, *, concurrency: int = 1) -> Process:
    worker = Process(
        "celery",
        [
            *(sys.executable, "-m", "celery", "-A", "engage", "worker", "--loglevel=INFO"),
            *(f"--concurrency={concurrency}", "--pool=prefork", "-n", f"load-{os.getpid()}@%h"),
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
    for path in ("/bench/bare/", "/join/", "/join/embed/"):
        run_wrk(wrk, port, quick, path, "get")
    if signups:
        run_wrk(wrk, port, quick, "/", "subscribe", "warmup")
