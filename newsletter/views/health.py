"""/healthz for load balancers and uptime checks: 200 when the site can take and send mail, 503
with the reasons otherwise. The database and the broker answer; beat ticked lately (a dead beat
sends nothing, while every page still works); the queue's depth is reported, not judged."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from engage import beat
from engage.celery import app
from newsletter.delivery import broker


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # any failure means "down"; the reason is not the caller's business
        return False


def _broker_ok() -> bool:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


def _beat() -> tuple[str, str | None]:
    """("ok" | "late" | "never" | "unknown", the reason when not ok)."""
    try:
        seconds = beat.seconds_since_tick()
    except Exception:  # the cache is down: the broker or database check says so already
        return "unknown", "beat's heartbeat cannot be read"
    if seconds is None:
        return "never", "beat has not ticked: is `celery -A engage beat` running?"
    if seconds > settings.BEAT_STALE_SECONDS:
        return (
            "late",
            f"beat last ticked {seconds:.0f} s ago (more than {settings.BEAT_STALE_SECONDS})",
        )
    return "ok", None


@never_cache
def healthz(request):
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    beat_status, beat_reason = _beat()
    reasons = [f"{name} is down" for name, ok in checks.items() if not ok]
    if beat_reason:
        reasons.append(beat_reason)
    body = {"status": "unavailable" if reasons else "ok"}
    body.update({name: "ok" if ok else "down" for name, ok in checks.items()})
    body["beat"] = beat_status
    body["queued"] = broker.queue_depth()
    if reasons:
        body["reasons"] = reasons
    return JsonResponse(body, status=503 if reasons else 200)
