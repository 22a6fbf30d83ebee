"""Scale-out: two separate worker pools (as two machines would run them) against one, through an
ESP stand-in whose latency, not its CPU, is the limit.

    make bench-scale                                      # 600 readers, 100 ms a call
    make bench-scale SCALE_ARGS="--subscribers 2000 --latency 0.2"

bench/esp.py's Postmark stand-in in a process of its own answers each call after --latency
seconds; every message is its own call, one at a time per worker process (ESP_BATCH_CALLS=false,
ESP_CONCURRENCY=1), so a pool of --concurrency processes can send at most --concurrency / latency
messages a second whatever the machine. The same digest goes to the same readers through one pool,
then through two pools of the same size (two `celery worker` processes, each with its own
prefork pool, sharing only the broker and the database). The target: two pools reach ≥ 1.8 × one
(issue 24).
"""

import argparse
import atexit
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import esp, run, targets  # noqa: E402 - after the path is set

run.BENCH_DB = f"{os.environ.get('BENCH_DB', 'engage_bench')}_scale"


def measure(pools: int, env: dict, standin, n: int, concurrency: int) -> float:
    """Messages a second through `pools` worker pools, from beat's tick to the stand-in."""
    import redis

    from engage.celery import app
    from newsletter import tasks
    from newsletter.models import Campaign

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()
    workers = [run.start_worker(env, concurrency, name=f"pool{i}") for i in range(pools)]
    try:
        deadline = time.monotonic() + 60
        while len(app.control.ping(timeout=0.5) or []) < pools:
            if time.monotonic() > deadline:
                raise RuntimeError("the worker pools did not start")
        standin.reset()
        campaign = run.schedule_digest()
        started = time.perf_counter()
        tasks.tick.delay()
        while standin.stats()["recipients"] < n:
            time.sleep(0.2)
            for proc, log in workers:
                if proc.poll() is not None:
                    raise RuntimeError(f"a worker died:\n{log.read_text()}")
        elapsed = time.perf_counter() - started
    finally:
        for proc, _ in workers:
            run.stop_worker(proc)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED)
    rate = n / elapsed
    print(f"  {pools} pool(s) of {concurrency}  {rate:8.1f} msg/s  ({n:,} in {elapsed:.1f}s)")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=2, help="processes per pool")
    parser.add_argument("--latency", type=float, default=0.1, help="the ESP's seconds per call")
    parser.add_argument("--redis-db", type=int, default=15, help="as bench/run.py's")
    args = parser.parse_args()

    standin = esp.StandinProcess(args.latency)
    atexit.register(standin.stop)
    own_redis = run.OwnRedis() if shutil.which("redis-server") else None
    if own_redis:
        atexit.register(own_redis.stop)
    env = esp.environment(args, standin, own_redis)
    env.update(ESP_BATCH_CALLS="false", ESP_CONCURRENCY="1")
    run.recreate_database(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"))
    os.environ.update(env)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    n = args.subscribers
    limit = args.concurrency / args.latency
    print(
        f"Scale-out: {n:,} readers, an ESP stand-in answering in {args.latency * 1000:g} ms, "
        f"one call at a time per process (at most {limit:g} msg/s a pool)"
    )
    run.seed(n)
    one = measure(1, env, standin, n, args.concurrency)
    two = measure(2, env, standin, n, args.concurrency)
    connection.close()
    targets.verdict(
        f"two worker pools ≥ {targets.SCALE_OUT_RATIO}× one",
        two / one >= targets.SCALE_OUT_RATIO,
        f"{two / one:.2f}× ({two:.1f} against {one:.1f} msg/s, pools of {args.concurrency}, "
        f"{args.latency * 1000:g} ms a call)",
    )
    run.drop_database(os.environ["DATABASE_URL"])


if __name__ == "__main__":
    main()
