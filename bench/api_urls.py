"""Engage's URLs plus /bench/subscribers/: GET /api/v1/subscribers/'s query (the same keyset on
(updated_at, id), the same fields and topics, the same JSON) in a bare Django view, the yardstick
for the API's framework, key check and validation."""

import base64
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.http import JsonResponse
from django.urls import include, path

from newsletter.api.subscribers import FIELDS
from newsletter.models import Subscriber


def subscribers(request):
    limit = int(request.GET.get("limit", 1000))
    rows = Subscriber.objects.order_by("updated_at", "id").values(*FIELDS)
    if since := request.GET.get("updated_since"):
        rows = rows.filter(updated_at__gte=datetime.fromisoformat(since))
    if cursor := request.GET.get("cursor"):
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, last_id = text.split("|")
        when = datetime.fromisoformat(when)
        rows = rows.filter(updated_at__gte=when).filter(Q(updated_at__gt=when) | Q(id__gt=last_id))
    rows = list(rows[: limit + 1])
    more, rows = len(rows) > limit, rows[:limit]
    topics = {row["id"]: [] for row in rows}
    links = Subscriber.topics.through.objects.filter(subscriber_id__in=list(topics))
    for subscriber_id, slug in links.values_list("subscriber_id", "topic__slug"):
        topics[subscriber_id].append(slug)
    for row in rows:
        row["topics"] = sorted(topics[row["id"]])
    next_cursor = None
    if more:
        text = f"{rows[-1]['updated_at'].isoformat()}|{rows[-1]['id']}"
        next_cursor = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    body = {"results": rows, "next_cursor": next_cursor}
    return JsonResponse(body, encoder=DjangoJSONEncoder)


urlpatterns = [
    path("bench/subscribers/", subscribers),
    path("", include("engage.urls")),
]
