"""Delivering webhook events: the ledger's drain, one endpoint at a time.

- One drain per endpoint (a lease on the endpoint's row), so its events go in sequence order: a
  window of up to WEBHOOK_WINDOW rows is claimed (`queued` → `sending`) and sent at once, each
  carrying its sequence number; the next window waits until this one is delivered. A failure
  stops the drain: the failed row is retried (backoff from WEBHOOK_RETRY_FIRST, capped at
  WEBHOOK_RETRY_MAX) before anything after the window goes out, until WEBHOOK_RETRY_HORIZON has
  passed since its first try; then it is `failed`, and a replay in admin can queue it again.
- A worker killed mid-send leaves rows `sending` and the lease to expire: the next drain sends
  them again. At most the window in flight goes twice; nothing is lost.
- Signed with the Standard Webhooks scheme (`standardwebhooks`): webhook-id (the ledger row,
  the same on every retry), webhook-timestamp, webhook-signature (HMAC-SHA256).
- The URL is checked again before each send (newsletter.api.destinations), and the connection
  goes to the address that was checked, so a name that changes its answer gains nothing.
- An endpoint failing for WEBHOOK_PAUSE_AFTER is paused, and superusers are told by email.
"""

import base64
import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from newsletter.api import destinations, enqueue, keys, outbox
from newsletter.mail.emails import make_message
from newsletter.models import WebhookDelivery, WebhookEndpoint

Status = WebhookDelivery.Status
LEASE = timedelta(seconds=120)
UNFINISHED = [Status.QUEUED, Status.SENDING]


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form (whsec_ and base64 of 32 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def backoff(attempts: int) -> timedelta:
    seconds = settings.WEBHOOK_RETRY_FIRST * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.WEBHOOK_RETRY_MAX))


# --- The drain --------------------------------------------------------------------------------


def drain(endpoint_id: int, now: datetime | None = None) -> float | None:
    """Send what is due for one endpoint, in order. Seconds until its next row is due (the caller
    looks again then), or None: nothing left, paused, or another drain holds the endpoint."""
    now = now or timezone.now()
    claimed = (
        WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True, paused_at=None)
        .filter(Q(lease_expires_at=None) | Q(lease_expires_at__lt=now))
        .update(lease_expires_at=now + LEASE)
    )
    if not claimed:
        return None
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    sender = _Sender(settings.WEBHOOK_WINDOW)
    leased_until = now + LEASE
    try:
        while True:
            now = timezone.now()
            rows = list(
                WebhookDelivery.objects.filter(endpoint=endpoint, status__in=UNFINISHED)
                .select_related("event")
                .order_by("sequence")[: settings.WEBHOOK_WINDOW]
            )
            if not rows:
                return None
            due = []
            for row in rows:  # a prefix: nothing overtakes a row that waits for its retry
                if row.next_attempt_at and row.next_attempt_at > now:
                    break
                due.append(row)
            if not due:
                return (rows[0].next_attempt_at - now).total_seconds()
            if not _send_window(endpoint, due, sender):
                if _paused(endpoint):
                    return None
                continue  # the failed rows now wait: the loop answers when to look again
            if leased_until - timezone.now() < LEASE / 2:  # renewed now and then, not per window
                leased_until = timezone.now() + LEASE
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(lease_expires_at=leased_until)
    finally:
        sender.close()
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(lease_expires_at=None)


class _Sender:
    """The threads and keep-alive connections one drain sends its windows with."""

    def __init__(self, size: int):
        self.size = max(1, size)
        self.threads = ThreadPoolExecutor(max_workers=self.size)
        self.pools = {}

    def pool(self, scheme: str, host: str, port: int, address: str):
        """A connection pool to the checked address, speaking to (and verifying TLS for)
        `host`."""
        key = (scheme, host, port, address)
        if key not in self.pools:
            timeout = urllib3.Timeout(total=settings.WEBHOOK_TIMEOUT)
            options = {"maxsize": self.size, "timeout": timeout, "retries": False}
            if scheme == "https":
                options |= {"server_hostname": host, "assert_hostname": host}
                self.pools[key] = urllib3.HTTPSConnectionPool(address, port, **options)
            else:
                self.pools[key] = urllib3.HTTPConnectionPool(address, port, **options)
        return self.pools[key]

    def close(self) -> None:
        self.threads.shutdown(wait=True)
        for pool in self.pools.values():
            pool.close()


def _send_window(endpoint: WebhookEndpoint, rows: list[WebhookDelivery], sender) -> bool:
    """Claim and send the rows at once; record each outcome. True when all were delivered."""
    now = timezone.now()
    WebhookDelivery.objects.filter(pk__in=[row.pk for row in rows], status__in=UNFINISHED).update(
        status=Status.SENDING, lease_expires_at=now + LEASE
    )
    try:
        scheme, host, port, addresses = destinations.check(endpoint.url)
    except destinations.Refused as refusal:
        results = [(row, None, f"refused: {refusal}") for row in rows]
    else:
        pool = sender.pool(scheme, host, port, addresses[0])
        results = list(sender.threads.map(lambda row: _post(pool, endpoint, row), rows))
    delivered = [row for row, _, error in results if not error]
    _record_delivered(delivered, [status for _, status, error in results if not error])
    for row, status, error in results:
        if error:
            _record_failure(row, status, error)
    ok = len(delivered) == len(rows)
    if ok and endpoint.failing_since is not None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        endpoint.failing_since = None
    elif not ok and endpoint.failing_since is None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since=None).update(failing_since=now)
        endpoint.refresh_from_db(fields=["failing_since"])
    return ok


def body_of(row: WebhookDelivery) -> bytes:
    """What the endpoint is sent: the event as its scope may see it, with its sequence number."""
    may_read_addresses = keys.may(row.endpoint.scope, keys.SUBSCRIBERS)
    return json.dumps(
        {
            "type": row.event.type,
            "timestamp": row.event.created_at.isoformat(),
            "sequence": row.sequence,
            "data": outbox.visible(row.event.data, addresses=may_read_addresses),
        },
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    ).encode()


def signed_headers(secret: str, message_id: str, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (signed now: receivers refuse stale ones)."""
    sent_at = timezone.now()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
    }


def _post(pool, endpoint: WebhookEndpoint, row: WebhookDelivery):
    row.endpoint = endpoint
    body = body_of(row)
    url = urlsplit(endpoint.url)
    headers = {
        "Host": url.netloc.rsplit("@", 1)[-1],
        "Content-Type": "application/json",
        "User-Agent": "Engage-Webhooks/1",
        **signed_headers(endpoint.secret, f"msg_{row.pk}", body),
    }
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    try:
        response = pool.urlopen(
            "POST", path, body=body, headers=headers, redirect=False, preload_content=True
        )
    except (urllib3.exceptions.HTTPError, OSError) as error:
        return row, None, f"{type(error).__name__}: {error}"[:500]
    if 200 <= response.status < 300:
        return row, response.status, ""
    return row, response.status, f"HTTP {response.status}"


def _record_delivered(rows: list[WebhookDelivery], statuses: list[int]) -> None:
    """One UPDATE for the window's delivered rows (the common case)."""
    if not rows:
        return
    now = timezone.now()
    WebhookDelivery.objects.filter(pk__in=[row.pk for row in rows], status=Status.SENDING).update(
        status=Status.DELIVERED,
        delivered_at=now,
        response_status=max(statuses),
        attempts=F("attempts") + 1,
        first_attempt_at=Coalesce(F("first_attempt_at"), Value(now)),
        last_error="",
        lease_expires_at=None,
    )


def _record_failure(row: WebhookDelivery, status: int | None, error: str) -> None:
    now = timezone.now()
    first = row.first_attempt_at or now
    gave_up = now - first >= timedelta(seconds=settings.WEBHOOK_RETRY_HORIZON)
    WebhookDelivery.objects.filter(pk=row.pk, status=Status.SENDING).update(
        status=Status.FAILED if gave_up else Status.QUEUED,
        attempts=row.attempts + 1,
        first_attempt_at=first,
        next_attempt_at=None if gave_up else now + backoff(row.attempts + 1),
        response_status=status,
        last_error=error,
        lease_expires_at=None,
    )


def _paused(endpoint: WebhookEndpoint) -> bool:
    """Pause an endpoint failing for WEBHOOK_PAUSE_AFTER, and tell the superusers. True when
    it is paused."""
    since = endpoint.failing_since
    if since is None or timezone.now() - since < timedelta(seconds=settings.WEBHOOK_PAUSE_AFTER):
        return False
    reason = f"Every delivery has failed since {since:%Y-%m-%d %H:%M} UTC."
    if WebhookEndpoint.objects.filter(pk=endpoint.pk, paused_at=None).update(
        paused_at=timezone.now(), paused_reason=reason
    ):
        tell_staff(endpoint, reason)
    return True


def tell_staff(endpoint: WebhookEndpoint, reason: str) -> int:
    superusers = get_user_model().objects.filter(is_superuser=True, is_active=True)
    addresses = [email for email in superusers.values_list("email", flat=True) if email]
    for address in addresses:
        make_message(
            "webhook-paused",
            address,
            {"endpoint": endpoint.name, "url": endpoint.url, "reason": reason},
        ).send()
    return len(addresses)


# --- Staff's actions and the tick -----------------------------------------------------------


def replay(*, delivery_ids: list[int]) -> int:
    """Queue these rows again (a failed one, or one to send once more): they go out in their
    sequence order with the endpoint's next drain."""
    rows = WebhookDelivery.objects.filter(pk__in=delivery_ids)
    count = rows.update(
        status=Status.QUEUED,
        next_attempt_at=None,
        first_attempt_at=None,
        lease_expires_at=None,
        last_error="",
    )
    _queue(set(rows.values_list("endpoint_id", flat=True)))
    return count


def resume(*, endpoint_id: int) -> bool:
    changed = WebhookEndpoint.objects.filter(pk=endpoint_id).exclude(paused_at=None)
    changed = changed.update(paused_at=None, paused_reason="", failing_since=None)
    _queue({endpoint_id})
    return bool(changed)


def due_endpoints(now: datetime | None = None) -> set[int]:
    """Endpoints with a row due and no live drain: lost tasks and retries are picked up here."""
    now = now or timezone.now()
    rows = WebhookDelivery.objects.filter(status__in=UNFINISHED).filter(
        Q(next_attempt_at=None) | Q(next_attempt_at__lte=now)
    )
    rows = rows.filter(endpoint__is_active=True, endpoint__paused_at=None).filter(
        Q(endpoint__lease_expires_at=None) | Q(endpoint__lease_expires_at__lt=now)
    )
    return set(rows.values_list("endpoint_id", flat=True).distinct())


def _queue(endpoint_ids) -> None:
    for pk in endpoint_ids:
        enqueue.drain(pk)


def queue_due() -> int:
    """Every minute (tick): endpoints with rows due and no drain, lost tasks and retries."""
    due = due_endpoints()
    _queue(due)
    return len(due)
