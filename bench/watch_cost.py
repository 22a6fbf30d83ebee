"""What the reputation watch costs: end to end with it off, then on, in the same run.

    make bench-watch                                       # 100,000 readers, the first 20,000
    make bench-watch WATCH_ARGS="--subscribers 20000 --stop-after 5000"

bench/run.py's pieces (its own database, redis-server and SMTP sink; a real worker): the same
audience gets a digest in each phase, each phase through a fresh worker, with
REPUTATION_WATCH=false and with the production default (on), --rounds times each in the order
off, on, on, off, …; the mean rate of each is compared. Between phases the
last campaign is cancelled and the broker emptied, so each worker sends only its own. The target:
the watch costs ≤ 5% of end-to-end throughput (issue 24).
"""

import argparse
import atexit
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run, targets  # noqa: E402 - after the path is set

run.BENCH_DB = f"{run.BENCH_DB}_watch"


def phase(label: str, env: dict, sink, target: int, concurrency: int) -> float:
    """Send a fresh digest until the sink has `target` messages; the rate, in msg/s."""
    import redis

    from engage.celery import app
    from newsletter import tasks
    from newsletter.models import Campaign

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()
    worker, log = run.start_worker(env, concurrency)
    try:
        run.wait_for_worker(app)
        sink.reset()
        campaign = run.schedule_digest()
        started = time.perf_counter()
        tasks.tick.delay()
        while sink.count < target:
            time.sleep(0.2)
            if worker.poll() is not None:
                raise RuntimeError(f"the worker died:\n{log.read_text()}")
        elapsed = time.perf_counter() - started
    finally:
        run.stop_worker(worker)
    # What is left of it must not reach the next phase's worker.
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED)
    rate = target / elapsed
    print(f"  {label:<24} {rate:8.0f} msg/s  ({target:,} in {elapsed:.1f}s)")
    return rate


def direct_cost(calls: int = 2000) -> float:
    """What one batch check-in costs the watch (count what went out, read the window), in
    seconds: the same cache calls a batch makes every STATUS_CHECK_SECONDS."""
    from newsletter.delivery import reputation

    started = time.perf_counter()
    for _ in range(calls):
        reputation.count(0, reputation.SENT, 50)
        reputation.figures(0)
    reputation.forget(0)
    return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--stop-after", type=int, default=20_000, help="messages per phase")
    parser.add_argument("--concurrency", type=int, default=4, help="worker processes")
    parser.add_argument("--rounds", type=int, default=2, help="phases of each, alternately")
    parser.add_argument("--redis-db", type=int, default=15, help="as bench/run.py's")
    args = parser.parse_args()

    sink = run.Sink()
    atexit.register(sink.stop)
    own_redis = run.OwnRedis() if shutil.which("redis-server") else None
    if own_redis:
        atexit.register(own_redis.stop)
    env = run.environment(args, sink, own_redis)
    run.recreate_database(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"))
    os.environ.update(env)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    n, target = args.subscribers, min(args.stop_after, args.subscribers)
    print(f"The reputation watch's cost: {n:,} readers, the first {target:,} of each digest")
    run.seed(n)
    # Each phase writes one more ledger of n rows, so later phases run on a larger table and go
    # slower: the phases run off, on, on, off, … so that this drift cancels in the means (in the
    # order off, on, off, on the first phase alone was 10% faster than the third, both off).
    rates = {"false": [], "true": []}
    for round_ in range(args.rounds):
        order = ("false", "true") if round_ % 2 == 0 else ("true", "false")
        for watching in order:
            label = "watch on (default)" if watching == "true" else "watch off"
            phase_env = {**env, "REPUTATION_WATCH": watching}
            rates[watching].append(phase(label, phase_env, sink, target, args.concurrency))
    off, on = statistics.mean(rates["false"]), statistics.mean(rates["true"])
    from newsletter.delivery.batch import STATUS_CHECK_SECONDS

    each = direct_cost()
    print(
        f"  the watch's own cache calls: {each * 1000:.2f} ms a check-in, one per "
        f"{STATUS_CHECK_SECONDS:g} s per worker process: {each / STATUS_CHECK_SECONDS:.2%} of it"
    )
    connection.close()
    cost = 1 - on / off
    targets.verdict(
        f"the reputation watch costs ≤ {targets.WATCH_COST:.0%} of end-to-end throughput",
        cost <= targets.WATCH_COST,
        f"{cost:+.1%} (mean of {args.rounds}: {on:.0f} msg/s on against {off:.0f} off, "
        f"{target:,} of {n:,} readers)",
    )
    run.drop_database(os.environ["DATABASE_URL"])


if __name__ == "__main__":
    main()
