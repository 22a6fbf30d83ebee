"""The viral article (issue 12): every page view of the site frames /join/embed/, and some readers
join. 30 s at 64 connections: 60 fetch the embed as fast as they can, 4 sign up at a pace that
makes signups about 2% of the requests, each from a client address of its own behind a trusted
proxy (TRUSTED_PROXIES=127.0.0.1, X-Forwarded-For), with the rate limit on and a real Celery
worker sending every confirmation to an SMTP mailbox in this process.

Targets: no socket error and no 5xx, embed p99 < 20 ms, every signup answered 202 stored and its
confirmation email delivered.
"""

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
from loadkit import (
    Mailbox,
    flush_redis,
    run_wrk,
    say,
    start_gunicorn,
    start_worker,
    wait_until,
    warm_up,
)

EMBED_CONNECTIONS = 60
SIGNUP_CONNECTIONS = 4
SIGNUP_SHARE = 0.02
EMBED_P99_MS = 20.0
PREFIX = "viral"


def _wrk_args(args, *, connections: int, duration: int) -> argparse.Namespace:
    threads = min(args.wrk_threads, connections)
    return argparse.Namespace(
        **{**vars(args), "connections": connections, "duration": duration, "wrk_threads": threads}
    )


def _stored(env: dict) -> int:
    url = env["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        return conn.execute(
            # What a signup stores before its 202; the worker makes the subscriber from it.
            "SELECT count(*) FROM newsletter_signuprequest WHERE email LIKE %s",
            [f"{PREFIX}-%"],
        ).fetchone()[0]


def run(wrk: str, env: dict, args, *, signup_p50_ms: float) -> dict:
    flush_redis(env["CELERY_BROKER_URL"])
    flush_redis(env["CACHE_URL"])
    mailbox = Mailbox()
    viral_env = {
        **env,
        "EMAIL_URL": f"smtp://127.0.0.1:{mailbox.port}",
        "TRUSTED_PROXIES": "127.0.0.1",
    }
    worker = start_worker(viral_env, concurrency=2)
    server, port = start_gunicorn(viral_env, args, rate_limited=True)
    try:
        warm_up(wrk, port, args, signups=False)  # workers booted, views imported, connections open
        probe = run_wrk(
            wrk,
            port,
            _wrk_args(args, connections=EMBED_CONNECTIONS, duration=3),
            "/join/embed/",
            "get",
        )
        if not probe["requests"]:
            raise SystemExit(f"the embed answered nothing in 3 s: {probe}")
        signups_per_second = probe["rps"] * SIGNUP_SHARE / (1 - SIGNUP_SHARE)
        # Each signup connection waits pace_ms, then takes about a signup's latency (as measured
        # in the rounds) for its request.
        interval_ms = SIGNUP_CONNECTIONS * 1000 / signups_per_second
        pace_ms = max(1, int(interval_ms - signup_p50_ms))
        say(
            f"viral article: {args.viral_duration} s, {EMBED_CONNECTIONS} connections on the embed "
            f"(~{probe['rps']:.0f} req/s alone), {SIGNUP_CONNECTIONS} signing up, each every "
            f"{pace_ms} ms …"
        )
        with ThreadPoolExecutor(2) as pool:
            embeds = pool.submit(
                run_wrk,
                wrk,
                port,
                _wrk_args(args, connections=EMBED_CONNECTIONS, duration=args.viral_duration),
                "/join/embed/",
                "get",
            )
            signups = pool.submit(
                run_wrk,
                wrk,
                port,
                _wrk_args(args, connections=SIGNUP_CONNECTIONS, duration=args.viral_duration),
                "/",
                "viral",
                PREFIX,
                "1",
                str(pace_ms),
            )
            embed, signup = embeds.result(), signups.result()
        time.sleep(1)  # requests in flight when wrk stopped still complete and store
        accepted = signup["statuses"].get("202", 0)
        stored = _stored(viral_env)
        say(
            f"viral article: {accepted} signups answered 202, {stored} stored; waiting for emails …"
        )

        def delivered() -> int:
            return sum(n for address, n in mailbox.counts().items() if address.startswith(PREFIX))

        try:
            wait_until(lambda: delivered() >= stored, 300, "the viral signups' confirmations")
        except SystemExit as timeout:
            say(str(timeout))
        time.sleep(2)
        emailed = delivered()
    finally:
        server.stop()
        worker.stop()
        mailbox.stop()
    total = embed["requests"] + signup["requests"]
    return {
        "embed": embed,
        "signup": signup,
        "signup_share": signup["requests"] / total if total else 0,
        "accepted": accepted,
        "stored": stored,
        "emailed": emailed,
    }


def verdicts(viral: dict) -> dict[str, bool]:
    embed, signup = viral["embed"], viral["signup"]
    runs = (embed, signup)
    return {
        "viral: no socket error": not any(n for r in runs for n in r["errors"].values()),
        "viral: no 5xx (nor anything but 200 and 202)": set(embed["statuses"]) == {"200"}
        and set(signup["statuses"]) <= {"202"},
        f"viral: embed p99 < {EMBED_P99_MS:.0f} ms": embed["p99_ms"] < EMBED_P99_MS,
        "viral: every 202 stored and its confirmation sent": viral["accepted"] > 0
        and viral["stored"] >= viral["accepted"]
        and viral["emailed"] >= viral["stored"],
    }


def report(viral: dict, args) -> None:
    embed, signup = viral["embed"], viral["signup"]
    statuses = {**embed["statuses"], **{f"{k} (signup)": v for k, v in signup["statuses"].items()}}
    print(
        f"viral article ({args.viral_duration} s, "
        f"{EMBED_CONNECTIONS + SIGNUP_CONNECTIONS} connections, "
        f"signups {viral['signup_share']:.1%} of requests): embed {embed['rps']:.0f} req/s, "
        f"p50 {embed['p50_ms']:.1f} ms, p99 {embed['p99_ms']:.1f} ms; signups "
        f"{signup['rps']:.1f}/s, p99 {signup['p99_ms']:.1f} ms; statuses {statuses}; socket errors "
        f"{ {k: v for r in (embed, signup) for k, v in r['errors'].items() if v} or 'none' }; "
        f"{viral['accepted']} signups answered 202, {viral['stored']} stored, {viral['emailed']} "
        "confirmations delivered"
    )
