"""Version 1 of the REST API: authentication by key, the one error shape, the rate limit, and
the routers of each domain.

Every error is `{"error": {"code": ..., "message": ..., "fields": {field: [messages]}}}`, with
the HTTP status saying what kind: 400 invalid input (unknown fields, wrong types, bad JSON), 401
no key or a revoked one, 403 a key whose scope does not allow it, 404, 409 a conflict, 413 a body
over DATA_UPLOAD_MAX_MEMORY_SIZE, 422 an Idempotency-Key reused with another body, 429 the key's
rate limit (API_RATE).
"""

import json
import re
from datetime import UTC, datetime
from typing import Annotated

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django_ratelimit.core import is_ratelimited
from ninja import NinjaAPI, Schema
from ninja import Path as PathParam
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer
from pydantic import AfterValidator, BeforeValidator

from newsletter.api import keys
from newsletter.web.clientip import client_ip


class FieldErrors(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = {}


class ErrorOut(Schema):
    error: FieldErrors


# Every operation documents these, so a client (and Schemathesis) knows every answer's shape.
ERRORS = {code: ErrorOut for code in (400, 401, 403, 404, 409, 413, 422, 429)}


class ApiError(HttpError):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(status, message)
        self.code = code
        self.fields = fields or {}


# A row's id in a path: what a bigint column holds (anything else is a 400, not a database error).
Id = Annotated[int, PathParam(ge=1, le=2**63 - 1)]


def _plausible(moment: datetime) -> datetime:
    """A moment a database stores and reads back: aware, between the years 1900 and 9000."""
    if moment.tzinfo is None:
        raise ValueError("give a time zone offset, e.g. 2026-05-01T09:00:00Z")
    if not 1900 <= moment.year <= 9000:
        raise ValueError("not a plausible date")
    # In UTC: PostgreSQL refuses offsets beyond ±15:59, which ISO 8601 allows (e.g. +23:31).
    return moment.astimezone(UTC)


def _iso_8601(value):
    # pydantic would also read "1700000000" or "0.5" as seconds since 1970: not a date-time.
    if isinstance(value, str) and not ISO_DATE.match(value):
        raise ValueError("give an ISO 8601 date-time, e.g. 2026-05-01T09:00:00Z")
    return value


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]")
# A moment given to the API (a query or a field).
Moment = Annotated[datetime, BeforeValidator(_iso_8601), AfterValidator(_plausible)]


def require(request, capability: str) -> None:
    """403 unless the request's key may do this."""
    if not keys.may(request.auth.scope, capability):
        raise ApiError(
            403, "forbidden", f"This key's scope ({request.auth.scope}) does not allow this."
        )


def _storable(value) -> bool:
    """No NUL and no lone surrogate anywhere: PostgreSQL can store neither."""
    if isinstance(value, str):
        return "\x00" not in value and not any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    return True


class StorableJson(Parser):
    def parse_body(self, request):
        data = json.loads(request.body)
        if not _storable(data):
            raise ValueError("text with a NUL or a lone surrogate")
        return data

    def parse_querydict(self, data, list_fields, request):
        parsed = super().parse_querydict(data, list_fields, request)
        if not _storable(parsed):
            raise ApiError(400, "invalid", "The query has a NUL or an invalid character.")
        return parsed


class KeyAuth(HttpBearer):
    """A live key (else 401) whose scope allows `capability` (else 403), within its rate (else
    429). Declared on each router, so it is checked before anything in the request is read."""

    def __init__(self, capability: str):
        super().__init__()
        self.capability = capability

    def authenticate(self, request, token):
        # The idempotency wrapper may have looked the key up already.
        key = getattr(request, "api_key", None) or keys.key_authenticate(token)
        if key is None:
            return None
        if is_ratelimited(
            request,
            group="api-key",
            key=lambda group, request: str(key.pk),
            rate=settings.API_RATE,
            increment=True,
        ):
            raise ApiError(429, "rate_limited", f"This key is limited to {settings.API_RATE}.")
        keys.key_touch(key, client_ip(request) or None)
        request.api_key = key
        if not keys.may(key.scope, self.capability):
            raise ApiError(403, "forbidden", f"This key's scope ({key.scope}) does not allow this.")
        return key


api = NinjaAPI(
    title="Engage API",
    version="1",
    description=__doc__,
    urls_namespace="api-v1",
    openapi_url="/schema/",
    # The schema and its reference page are public: they describe the API and hold no data.
    docs_url="/docs/",
    auth=KeyAuth(keys.FULL_ONLY),
    parser=StorableJson(),
)


def _error(request, status, code, message, fields=None, headers=None):
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    response = api.create_response(request, body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_name(loc) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] == "body":
        parts = parts[2:] or ["body"]  # ("body", <parameter>, field, ...)
    elif parts and parts[0] in ("query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        message = error.get("msg", "Invalid value.")
        if error.get("type") == "extra_forbidden":
            message = "Unknown field."
        fields.setdefault(_field_name(error.get("loc", ())), []).append(message)
    return _error(request, 400, "invalid", "The request has invalid fields.", fields)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return _error(
        request,
        401,
        "unauthenticated",
        "Send a live API key: Authorization: Bearer <key>.",
        headers={"WWW-Authenticate": "Bearer"},
    )


@api.exception_handler(HttpError)
def _http_error(request, exc):
    if isinstance(exc, ApiError):
        return _error(request, exc.status_code, exc.code, exc.message, exc.fields)
    code = {400: "bad_request", 403: "forbidden", 404: "not_found", 429: "rate_limited"}
    return _error(request, exc.status_code, code.get(exc.status_code, "error"), str(exc))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, "not_found", "There is nothing here (or it was erased).")


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _error(request, 413, "too_large", f"The body is larger than {size} bytes.")


def _routers():
    from newsletter.api import campaigns, content, engagement, subscribers

    api.add_router("/subscribers/", subscribers.router, tags=["subscribers"])
    api.add_router("/suppressions/", subscribers.suppressions, tags=["suppressions"])
    api.add_router("/topics/", content.topics, tags=["topics"])
    api.add_router("/posts/", content.posts, tags=["posts"])
    api.add_router("/campaigns/", campaigns.router, tags=["campaigns"])
    api.add_router("/events/", engagement.events, tags=["events"])
    api.add_router("/interest/", engagement.interest, tags=["interest"])


_routers()
