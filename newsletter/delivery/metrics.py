"""What /metrics tells Prometheus, read fresh from the database, the broker and the cache at each
scrape (no counter lives in a process, so any number of web processes agree).

Messages per minute come from the Delivery ledger: rows sent, failed or bounced, and rows deferred
(queued again after a temporary failure) whose last change fell in the past minute.
"""

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from engage import beat
from newsletter.delivery import broker
from newsletter.models import Campaign, Delivery, SignupRequest, Subscriber, WebhookEvent


def _by(model, field: str) -> dict[str, int]:
    rows = model.objects.values(field).annotate(n=Count("pk")).order_by()
    return {row[field]: row["n"] for row in rows}


def messages_last_minute(now=None) -> dict[str, int]:
    since = (now or timezone.now()) - timedelta(minutes=1)
    S = Delivery.Status
    counts = Delivery.objects.aggregate(
        sent=Count("pk", filter=Q(status=S.SENT, sent_at__gte=since)),
        failed=Count("pk", filter=Q(status__in=[S.FAILED, S.BOUNCED], updated_at__gte=since)),
        deferred=Count("pk", filter=Q(status=S.QUEUED, attempts__gt=0, updated_at__gte=since)),
    )
    return counts


class EngageCollector(Collector):
    def collect(self):
        depth = broker.queue_depth()
        if depth is not None:
            yield GaugeMetricFamily(
                "engage_queue_depth", "Tasks waiting in the Celery queue.", value=depth
            )
        seconds = beat.seconds_since_tick()
        if seconds is not None:
            yield GaugeMetricFamily(
                "engage_beat_seconds_since_tick", "Seconds since beat's last heartbeat.", seconds
            )

        per_minute = GaugeMetricFamily(
            "engage_messages_last_minute",
            "Campaign messages in the past minute, by outcome (from the Delivery ledger).",
            labels=["outcome"],
        )
        for outcome, count in messages_last_minute().items():
            per_minute.add_metric([outcome], count)
        yield per_minute

        deliveries = GaugeMetricFamily(
            "engage_deliveries", "Delivery ledger rows by status.", labels=["status"]
        )
        for status, count in _by(Delivery, "status").items():
            deliveries.add_metric([status], count)
        yield deliveries

        campaigns = GaugeMetricFamily("engage_campaigns", "Campaigns by state.", labels=["state"])
        found = _by(Campaign, "status")
        for state in Campaign.Status.values:
            campaigns.add_metric([state], found.get(state, 0))
        yield campaigns

        subscribers = GaugeMetricFamily(
            "engage_subscribers", "Subscribers by status.", labels=["status"]
        )
        found = _by(Subscriber, "status")
        for status in Subscriber.Status.values:
            subscribers.add_metric([status], found.get(status, 0))
        yield subscribers

        yield CounterMetricFamily(
            "engage_signups",
            "Signups received (join page and API).",
            value=SignupRequest.objects.count(),
        )
        events = CounterMetricFamily(
            "engage_webhook_events", "ESP webhook events stored, by type.", labels=["type"]
        )
        for event_type, count in _by(WebhookEvent, "event_type").items():
            events.add_metric([event_type], count)
        yield events
