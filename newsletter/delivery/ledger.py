"""The Delivery ledger: every write to Delivery rows, and all of the pipeline's raw SQL.

A row's `lease_expires_at` is the moment by which its task should have acted on it: for a `sending`
row, the worker holding it must be done by then; for a `queued` row, a task carrying it should have
been picked up. Every change of status is a conditional UPDATE on the status the caller expects,
so a redelivered or duplicated task changes nothing another one settled.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from newsletter.mail import access
from newsletter.models import Campaign, Delivery, Subscriber
from newsletter.subscribers import policy

Status = Delivery.Status

CANCELLED = "The campaign was cancelled."


def lease(now: datetime, extra: float = 0) -> datetime:
    return now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS + extra)


# --- Writing the ledger -------------------------------------------------------------------------

# On PostgreSQL a chunk is one INSERT of an id array: bulk_create spends most of its time building
# and converting 14 fields of 2,000 model instances per chunk, which kept 100,000 rows above 10 s.
_INSERT_LEDGER = (
    f"INSERT INTO {Delivery._meta.db_table} (campaign_id, subscriber_id, status, attempts, "  # noqa: S608
    "last_error, lease_expires_at, message_id, created_at, updated_at, variant) "
    "SELECT %s, subscriber_id, %s, 0, '', %s, '', %s, %s, %s "
    "FROM unnest(%s::bigint[]) AS subscriber_id "
    "ON CONFLICT (campaign_id, subscriber_id) DO NOTHING"
)


# A local-time campaign's rows carry their moment from the start (an UPDATE afterwards doubled
# the ledger's writing time): the moment of the reader's zone, looked up in the zones known when
# preparation began, else the organisation's (a reader who changed zone in between).
_INSERT_TIMED = (
    f"INSERT INTO {Delivery._meta.db_table} (campaign_id, subscriber_id, status, attempts, "  # noqa: S608
    "last_error, lease_expires_at, message_id, created_at, updated_at, send_after) "
    "SELECT %s, ids.id, %s, 0, '', COALESCE(m.at, %s) + %s * interval '1 second', '', %s, %s, "
    "COALESCE(m.at, %s) "
    "FROM unnest(%s::bigint[]) AS ids(id) "
    "LEFT JOIN unnest(%s::text[], %s::timestamptz[]) AS m(zone, at) ON m.zone = "
    # A lookup by primary key per row: a join let the planner scan the whole subscriber table.
    f"(SELECT s.time_zone FROM {Subscriber._meta.db_table} AS s WHERE s.id = ids.id) "
    "ON CONFLICT (campaign_id, subscriber_id) DO NOTHING"
)


@dataclass(frozen=True)
class Moments:
    """When each reader of a local-time campaign may be sent to: by stored zone value."""

    by_zone: dict[str, datetime]
    otherwise: datetime

    def of(self, zone: str) -> datetime:
        return self.by_zone.get(zone, self.otherwise)


def write_rows(
    campaign_id: int,
    subscriber_ids: list[int],
    lease_until: datetime,
    moments: Moments | None = None,
    *,
    variant: str = "",
) -> int:
    """Queued rows for these subscribers (with an A/B test's `variant`), leaving alone any that
    exist (a re-run, or a reader who had the test). With `moments` (local-time sending), each row
    may go at its reader's moment, and its lease runs from then (so the sweeper leaves a wave
    still to come alone); an A/B test is never sent in local time (scheduling refuses it)."""
    if moments is not None:
        return _write_timed_rows(campaign_id, subscriber_ids, moments)
    if connection.vendor == "postgresql":
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT_LEDGER,
                [campaign_id, Status.QUEUED, lease_until, now, now, variant, subscriber_ids],
            )
            return cursor.rowcount
    rows = [
        Delivery(
            campaign_id=campaign_id, subscriber_id=pk, lease_expires_at=lease_until, variant=variant
        )
        for pk in subscriber_ids
    ]
    return len(Delivery.objects.bulk_create(rows, ignore_conflicts=True))


def _write_timed_rows(campaign_id: int, subscriber_ids: list[int], moments: Moments) -> int:
    if connection.vendor == "postgresql":
        now = timezone.now()
        zones, ats = list(moments.by_zone), list(moments.by_zone.values())
        params = [campaign_id, Status.QUEUED, moments.otherwise, settings.DELIVERY_LEASE_SECONDS]
        params += [now, now, moments.otherwise, subscriber_ids, zones, ats]
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_TIMED, params)
            return cursor.rowcount
    zones = Subscriber.objects.filter(pk__in=subscriber_ids).values_list("pk", "time_zone")
    rows = [
        Delivery(
            campaign_id=campaign_id,
            subscriber_id=pk,
            send_after=moments.of(zone),
            lease_expires_at=lease(moments.of(zone)),
        )
        for pk, zone in zones
    ]
    return len(Delivery.objects.bulk_create(rows, ignore_conflicts=True))


# --- A batch's rows -----------------------------------------------------------------------------


def claim(ids: list[int]) -> list[int]:
    """queued → sending for the rows nobody else holds and whose moment has come; the ids won.
    A row of a wave still to come is refused, whichever task carries it (an early or duplicated
    one, a resume, the sweeper): its wave's own task sends it."""
    now = timezone.now()
    with transaction.atomic():
        won = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, status=Status.QUEUED)
            .filter(Q(send_after=None) | Q(send_after__lte=now))
            .values_list("pk", flat=True)
        )
        if won:
            Delivery.objects.filter(pk__in=won).update(
                status=Status.SENDING, lease_expires_at=lease(now), updated_at=now
            )
    return won


def claimed_rows(ids: list[int]) -> list[Delivery]:
    """The claimed rows with what sending needs of their subscribers, in id order."""
    return list(
        Delivery.objects.filter(pk__in=ids)
        .select_related("subscriber")
        .only(
            "attempts",
            "first_attempt_at",
            "campaign_id",
            "variant",
            "subscriber__id",
            "subscriber__email",
            "subscriber__first_name",
            "subscriber__status",
            "subscriber__suppressed_at",
            "subscriber__allow_tracking",
            # The message around a reader's values follows these: one query each if deferred.
            *(f"subscriber__{name}" for name in access.FIELDS),
        )
        .order_by("pk")
    )


def release(ids: list[int], current: str = Status.SENDING) -> int:
    """Rows of `ids` still in `current` back to queued now (the sweeper may hand them out)."""
    now = timezone.now()
    return Delivery.objects.filter(pk__in=ids, status=current).update(
        status=Status.QUEUED, lease_expires_at=now, updated_at=now
    )


def skip_cancelled(ids: list[int], current: str) -> int:
    """Rows of `ids` still in `current` skipped: their campaign was cancelled."""
    return Delivery.objects.filter(pk__in=ids, status=current).update(
        status=Status.SKIPPED,
        last_error=CANCELLED,
        lease_expires_at=None,
        updated_at=timezone.now(),
    )


def hold(ids: list[int]) -> None:
    """Queued rows of a paused campaign: their lease ends now, so the sweeper finds them after a
    resume."""
    Delivery.objects.filter(pk__in=ids, status=Status.QUEUED).update(
        lease_expires_at=timezone.now()
    )


def renew(ids: list[int]) -> None:
    """A batch still at work keeps the sweeper away from the rows it holds."""
    Delivery.objects.filter(pk__in=ids, status=Status.SENDING).update(
        lease_expires_at=lease(timezone.now())
    )


def book_retry(ids: list[int], delay: float) -> None:
    """Queued rows whose retry is booked in `delay` seconds: the lease covers the wait."""
    Delivery.objects.filter(pk__in=ids, status=Status.QUEUED).update(
        lease_expires_at=lease(timezone.now(), delay)
    )


# --- One row's outcome --------------------------------------------------------------------------


def mark(row: Delivery, status: str, *, error: str = "", attempted: bool = False) -> None:
    """A claimed row settled as `status` (failed, bounced, skipped)."""
    fields = {
        "status": status,
        "last_error": error[:1000],
        "lease_expires_at": None,
        "updated_at": timezone.now(),
    }
    if attempted:
        fields["attempts"] = row.attempts + 1
    Delivery.objects.filter(pk=row.pk, status=Status.SENDING).update(**fields)


# The hot path's one write per message, as plain SQL: the ORM's query building costs more than
# the statement itself, once per message.
_MARK_SENT = (
    f"UPDATE {Delivery._meta.db_table} SET status = %s, sent_at = %s, updated_at = %s, "  # noqa: S608
    "message_id = %s, attempts = attempts + 1, last_error = '', lease_expires_at = NULL "
    "WHERE id = %s AND status = %s"
)


def mark_sent(row: Delivery, message_id: str) -> None:
    now = timezone.now()
    params = [Status.SENT, now, now, message_id, row.pk, Status.SENDING]
    if connection.vendor == "postgresql":
        # A prepared statement, parsed and planned once per connection instead of per message
        # (Django's cursors bind on the client and cannot prepare).
        connection.ensure_connection()
        psycopg.Cursor(connection.connection).execute(_MARK_SENT, params, prepare=True)
    else:
        with connection.cursor() as cursor:
            cursor.execute(_MARK_SENT, params)


_MARK_SENT_MANY = (
    f"UPDATE {Delivery._meta.db_table} AS d SET status = %s, sent_at = %s, updated_at = %s, "  # noqa: S608
    "message_id = sent.message_id, attempts = d.attempts + 1, last_error = '', "
    "lease_expires_at = NULL FROM unnest(%s::bigint[], %s::text[]) AS sent(id, message_id) "
    "WHERE d.id = sent.id AND d.status = %s"
)


def mark_sent_many(sent: dict[int, str]) -> None:
    """Rows sent in one go (an ESP's batch call): {delivery id: message id}, one statement."""
    if connection.vendor != "postgresql":
        for pk, message_id in sent.items():
            mark_sent(Delivery(pk=pk), message_id)
        return
    now = timezone.now()
    params = [Status.SENT, now, now, list(sent), list(sent.values()), Status.SENDING]
    with connection.cursor() as cursor:
        cursor.execute(_MARK_SENT_MANY, params)


def bounce(row: Delivery, error: str) -> None:
    """The server refused the recipient for good: the row is bounced and the address suppressed."""
    with transaction.atomic():
        mark(row, Status.BOUNCED, error=error, attempted=True)
        policy.suppress(row.subscriber_id, Subscriber.Status.BOUNCED)


def retry_later(row: Delivery, error: str, delay: float) -> None:
    """A transient failure of this recipient: back to queued, with a lease that covers the wait
    before its retry (so the sweeper does not hand the row out early). The first such failure
    starts the row's retry horizon."""
    now = timezone.now()
    Delivery.objects.filter(pk=row.pk, status=Status.SENDING).update(
        status=Status.QUEUED,
        attempts=row.attempts + 1,
        last_error=error[:1000],
        lease_expires_at=lease(now, delay),
        first_attempt_at=Coalesce("first_attempt_at", Value(now)),
        updated_at=now,
    )


def wait_for_relay(ids: list[int], delay: float) -> None:
    """Claimed rows put back for the mail server to recover: nothing is charged to them."""
    now = timezone.now()
    Delivery.objects.filter(pk__in=ids, status=Status.SENDING).update(
        status=Status.QUEUED, lease_expires_at=lease(now, delay), updated_at=now
    )


# --- Operators and the sweeper ------------------------------------------------------------------


def requeue(ids: list[int], now: datetime) -> None:
    """Queued or sending rows of `ids` queued afresh, with a new lease (their task was lost)."""
    Delivery.objects.filter(pk__in=ids, status__in=[Status.QUEUED, Status.SENDING]).update(
        status=Status.QUEUED, lease_expires_at=lease(now), updated_at=now
    )


def retry_failed(delivery_id: int) -> bool:
    """A failed row of a campaign that was not cancelled queued again, its attempts reset."""
    now = timezone.now()
    return bool(
        Delivery.objects.filter(pk=delivery_id, status=Status.FAILED)
        .exclude(campaign__status=Campaign.Status.CANCELLED)
        .update(
            status=Status.QUEUED,
            attempts=0,
            first_attempt_at=None,
            last_error="",
            lease_expires_at=lease(now),
            updated_at=now,
        )
    )


def skip_abandoned(now: datetime) -> int:
    """A cancelled campaign's rows that no task will come for any more: queued ones, and those of
    a worker that died holding them."""
    abandoned = Q(status=Status.QUEUED) | Q(status=Status.SENDING, lease_expires_at__lt=now)
    return Delivery.objects.filter(abandoned, campaign__status=Campaign.Status.CANCELLED).update(
        status=Status.SKIPPED, last_error=CANCELLED, lease_expires_at=None
    )
