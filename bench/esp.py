"""Engage through an ESP: one call per message next to batch calls, against a Postmark stand-in.

    make bench-esp                                       # 10,000 readers, both paths
    make bench-esp ESP_ARGS="--subscribers 100000 --skip-old"

Real worker processes, beat's tick, and a PostgreSQL database and redis-server of the benchmark's
own (bench/run.py's helpers); anymail's Postmark backend is pointed at bench/esp_standin.py, which
runs in a process of its own and answers each call after --latency seconds. The one-call-per-
message path is ESP_BATCH_CALLS=false with ESP_CONCURRENCY=1 (what Engage did before issue 11).
"""

import argparse
import atexit
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run, targets  # noqa: E402 - after the path is set

ROOT = run.ROOT
# A database of its own: bench/run.py drops engage_bench (WITH FORCE) when it starts.
run.BENCH_DB = f"{run.BENCH_DB}_esp"


class StandinProcess:
    """bench/esp_standin.py in a process of its own, so the workers' load does not slow it."""

    def __init__(self, latency: float):
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "esp_standin.py"), "--port", str(self.port)]
            + ["--latency", str(latency)],
            stdout=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.stats()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the stand-in did not start")

    def stats(self, path: str = "") -> dict:
        with urllib.request.urlopen(self.url + path, timeout=5) as answer:  # noqa: S310 - loopback
            return json.load(answer)

    def reset(self) -> None:
        self.stats("reset")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(args, standin: StandinProcess, own_redis) -> dict:
    env = run.environment(args, SimpleNamespace(port=0), own_redis)
    del env["EMAIL_URL"]
    env.update(
        ESP="postmark",
        ANYMAIL_POSTMARK_SERVER_TOKEN="bench-token",  # noqa: S106 - the stand-in's
        ANYMAIL_POSTMARK_API_URL=standin.url,
        SEND_RATE_PER_SECOND="0",
    )
    return env


def measure(label: str, env: dict, standin: StandinProcess, n: int, concurrency: int) -> dict:
    from tqdm import tqdm

    from engage.celery import app
    from newsletter import tasks
    from newsletter.models import Campaign, Delivery

    worker, log = run.start_worker(env, concurrency)
    watch = run.MemoryWatch(worker.pid)
    try:
        run.wait_for_worker(app)
        watch.start()
        standin.reset()
        campaign = run.schedule_digest()
        started = time.perf_counter()
        tasks.tick.delay()
        last_tick = time.monotonic()
        sent = 0
        with tqdm(total=n, desc=f"  {label}", unit="msg", leave=False, mininterval=2) as bar:
            while sent < n:
                time.sleep(0.2)
                sent = standin.stats()["recipients"]
                if time.monotonic() - last_tick >= 60:  # as beat does
                    tasks.tick.delay()
                    last_tick = time.monotonic()
                bar.update(sent - bar.n)
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker died:\n{log.read_text()}")
        elapsed = time.perf_counter() - started
        watch.stop()
        stats = standin.stats()
        tasks.tick.apply()  # the campaign becomes sent
        statuses = Delivery.objects.filter(campaign_id=campaign.pk).values_list("status", flat=True)
        counts: dict[str, int] = {}
        for status in statuses.iterator():
            counts[status] = counts.get(status, 0) + 1
        return {
            "label": label,
            "rate": n / elapsed,
            "elapsed": elapsed,
            "calls": sum(stats["calls"].values()),
            "accepted": stats["recipients"],
            "peak_process": watch.peak_process,
            "peak_total": watch.peak_total,
            "status": Campaign.objects.get(pk=campaign.pk).status,
            "counts": counts,
        }
    finally:
        run.stop_worker(worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4, help="worker processes")
    parser.add_argument("--latency", type=float, default=0.05, help="the ESP's seconds per call")
    parser.add_argument("--skip-old", action="store_true", help="only the batch path")
    parser.add_argument("--redis-db", type=int, default=15, help="as bench/run.py's")
    parser.add_argument("--keep", action="store_true", help="keep the engage_bench database")
    args = parser.parse_args()

    standin = StandinProcess(args.latency)
    atexit.register(standin.stop)
    own_redis = run.OwnRedis() if shutil.which("redis-server") else None
    if own_redis:
        atexit.register(own_redis.stop)
    env = environment(args, standin, own_redis)
    database = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    run.recreate_database(database)
    os.environ.update(env)

    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db import connection

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()
    call_command("migrate", verbosity=0)
    n = args.subscribers
    print(
        f"Engage through an ESP: {n:,} readers, {args.concurrency} worker processes, "
        f"a Postmark stand-in answering in {args.latency * 1000:g} ms"
    )
    run.seed(n)

    results = []
    if not args.skip_old:
        old = {**env, "ESP_BATCH_CALLS": "false", "ESP_CONCURRENCY": "1"}  # tasks of 200
        results.append(measure("one call per message", old, standin, n, args.concurrency))
    results.append(measure("batch calls", env, standin, n, args.concurrency))
    connection.close()

    print()
    for r in results:
        print(
            f"  {r['label']:<22} {r['rate']:8.0f} msg/s  {r['calls']:7,} calls for "
            f"{r['accepted']:,} messages in {r['elapsed']:.1f}s; worker peak "
            f"{r['peak_process'] / 2**20:.0f} MiB a process, {r['peak_total'] / 2**20:.0f} MiB "
            f"in all; campaign {r['status']} {r['counts']}"
        )
    new = results[-1]["rate"]
    at = f"at {args.latency * 1000:g} ms latency with {args.concurrency} worker processes"
    standard = args.latency == 0.05 and args.concurrency == 4
    targets.verdict(
        f"ESP batch calls ≥ {targets.ESP_BATCH_RATE:,} msg/s at 50 ms with 4 processes",
        (new >= targets.ESP_BATCH_RATE) if standard else None,
        f"{new:,.0f} msg/s {at}",
    )
    if len(results) == 2:
        ratio = new / results[0]["rate"]
        targets.verdict(
            f"ESP batch calls ≥ {targets.ESP_BATCH_RATIO}× one call per message",
            ratio >= targets.ESP_BATCH_RATIO,
            f"{ratio:.1f}× ({new:,.0f} against {results[0]['rate']:,.0f} msg/s {at})",
        )
    if not args.keep:
        run.drop_database(os.environ["DATABASE_URL"])


if __name__ == "__main__":
    main()
