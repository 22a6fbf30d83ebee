"""Subscribers and suppressions: each operation calls the function the join form, the CSV
import, the preference centre or the suppression rules already use."""

import base64
import binascii
from datetime import datetime
from typing import Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from newsletter.api import audit, keys
from newsletter.api.v1 import ERRORS, ApiError, Id, KeyAuth, Moment
from newsletter.mail import access as reading
from newsletter.models import Subscriber, Suppression, Topic
from newsletter.subscribers import imports, policy, signups, subscriptions
from newsletter.subscribers.addresses import normalise_email, suppression_hash
from newsletter.web.clientip import client_ip
from newsletter.web.forms import validate_api_payload

router = Router(auth=KeyAuth(keys.SUBSCRIBERS))
suppressions = Router(auth=KeyAuth(keys.SUBSCRIBERS))

PAGE_SIZE = 1000


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


ACCESS_DESCRIPTION = (
    "plain_text_only (no HTML part), larger_text (20 px text, 48 px buttons), no_images (each "
    "image's description in words). Every email honours them."
)
Access = list[Literal[reading.FIELDS]]


class SubscriberIn(Strict):
    """`signup` sends the double opt-in email, as the join form does. `import` records someone
    who joined elsewhere, by the CSV import's rules: active only with consent and its date, or
    the charity soft opt-in with its evidence; otherwise pending, and no email is sent."""

    mode: Literal["signup", "import"] = "signup"
    email: str = Field(max_length=320)
    first_name: str = Field("", max_length=200)
    topics: list[str] | None = Field(None, max_length=50, description="Topic slugs; none: all.")
    time_zone: str = Field("", max_length=64)
    allow_tracking: bool = False
    access: Access = Field(
        default_factory=list,
        max_length=3,
        description="signup: how the reader reads our emails, as the join form's optional "
        f"choices: {ACCESS_DESCRIPTION}",
    )
    consent: bool = Field(False, description="signup: must be true (the reader agreed).")
    consent_at: Moment | None = Field(None, description="import: when consent was given.")
    consent_source: str = Field("", max_length=200)
    consent_version: str = Field("", max_length=40)
    lawful_basis: Literal["consent", "charity-soft-opt-in"] = "consent"
    lawful_basis_evidence: str = Field("", max_length=2000)


class Accepted(Schema):
    status: Literal["pending"]


class SubscriberOut(Schema):
    id: int
    email: str
    first_name: str
    status: str
    topics: list[str]
    time_zone: str
    allow_tracking: bool
    access: list[str] = Field(description=f"The reader's reading preferences: {ACCESS_DESCRIPTION}")
    lawful_basis: str
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None


class SubscriberPage(Schema):
    results: list[SubscriberOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: done.")


class SubscriberPatch(Strict):
    first_name: str | None = Field(None, max_length=200)
    topics: list[str] | None = Field(None, max_length=50)
    access: Access | None = Field(
        None,
        max_length=3,
        description="The reading preferences the reader asked for (say on the phone to "
        "supporter care), replacing the ones they had; [] clears them. The reader can change "
        f"them back in their preference centre. {ACCESS_DESCRIPTION}",
    )


class Unsubscribed(Schema):
    changed: bool
    status: str


class SuppressionIn(Strict):
    email: str = Field(max_length=320)
    reason: Literal["requested", "unsubscribed", "bounced", "complained"] = "requested"
    note: str = Field(
        "", max_length=500, description="Why, e.g. 'FPS request 2026-11-02' (kept in the audit)."
    )


class SuppressionOut(Schema):
    id: int
    email_hash: str
    reason: str
    created_at: datetime


class SuppressionCheck(Schema):
    suppressed: bool
    reason: str | None


class SuppressionPage(Schema):
    results: list[SuppressionOut]
    next_cursor: str | None


# --- Cursors: keyset pagination, never OFFSET -------------------------------------------------


def _cursor(*values) -> str:
    text = "|".join(str(value) for value in values)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _read_cursor(cursor: str, count: int) -> list[str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    parts = text.split("|")
    if len(parts) != count:
        raise ApiError(400, "invalid", "Bad cursor.", {"cursor": ["Pass back a next_cursor."]})
    return parts


def _subscribers_page(rows, limit: int) -> tuple[list[dict], str | None]:
    rows = list(rows[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    slugs: dict[int, list[str]] = {row["id"]: [] for row in rows}
    links = Subscriber.topics.through.objects.filter(subscriber_id__in=list(slugs))
    for subscriber_id, slug in links.values_list("subscriber_id", "topic__slug"):
        slugs[subscriber_id].append(slug)
    for row in rows:
        row["topics"] = sorted(slugs[row["id"]])
        row["access"] = reading.choices_of({name: row.pop(name) for name in reading.FIELDS})
    last = rows[-1] if more else None
    return rows, _cursor(last["updated_at"].isoformat(), last["id"]) if last else None


FIELDS = [
    "id",
    "email",
    "first_name",
    "status",
    "time_zone",
    "allow_tracking",
    *reading.FIELDS,
    "lawful_basis",
    "created_at",
    "updated_at",
    "confirmed_at",
    "unsubscribed_at",
]


def _one(subscriber_id: int) -> dict:
    rows = Subscriber.objects.filter(pk=subscriber_id).values(*FIELDS)
    found, _ = _subscribers_page(rows, 1)
    if not found:
        raise ApiError(404, "not_found", "No such subscriber (or erased).")
    return found[0]


def _topic_slugs(slugs: list[str] | None) -> list[str] | None:
    if slugs is None:
        return None
    unknown = sorted(set(slugs) - set(Topic.objects.values_list("slug", flat=True)))
    if unknown:
        raise ApiError(400, "invalid", "Unknown topics.", {"topics": [f"Unknown: {unknown}"]})
    return slugs


# --- Subscribers --------------------------------------------------------------------------------


@router.post("/", response={201: SubscriberOut, 202: Accepted, **ERRORS})
def create_subscriber(request, payload: SubscriberIn):
    if payload.mode == "signup":
        return _signup(request, payload)
    return _import(request, payload)


def _signup(request, payload: SubscriberIn):
    form, errors = validate_api_payload(
        {
            "email": payload.email,
            "first_name": payload.first_name,
            "topics": _topic_slugs(payload.topics),
            "consent": payload.consent,
            "allow_tracking": payload.allow_tracking,
            "time_zone": payload.time_zone,
            "access": payload.access,
        }
    )
    if errors:
        raise ApiError(400, "invalid", "The request has invalid fields.", errors)
    signups.signup_request(
        email=form.cleaned_data["email"],
        first_name=form.cleaned_data["first_name"],
        topic_slugs=form.topic_slugs(),
        allow_tracking=form.cleaned_data["allow_tracking"],
        source=f"api: {request.auth.name}",
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        time_zone=form.cleaned_data["time_zone"],
        access=form.cleaned_data["access"],
    )
    audit.record(request, "api: signup", "1 signup request")
    return Status(202, {"status": "pending"})


def _import(request, payload: SubscriberIn):
    if payload.access:
        # The reader chooses these (at signup or in the preference centre), not a record elsewhere.
        message = "Reading preferences come with a signup, or from the reader's preference centre."
        raise ApiError(400, "invalid", "The request has invalid fields.", {"access": [message]})
    try:
        email = normalise_email(payload.email)
    except DjangoValidationError as error:
        raise ApiError(400, "invalid", "The request has invalid fields.", {"email": error.messages})
    row = {
        "email": email,
        "first_name": payload.first_name,
        "topics": ",".join(_topic_slugs(payload.topics) or []),
        "consent": "yes" if payload.consent else "no",
        "consent_at": payload.consent_at.isoformat() if payload.consent_at else "",
        "consent_source": payload.consent_source or f"api: {request.auth.name}",
        "consent_version": payload.consent_version,
        "lawful_basis": payload.lawful_basis,
        "lawful_basis_evidence": payload.lawful_basis_evidence,
        "time_zone": payload.time_zone,
    }
    outcome, reason = imports.import_one(row)
    if outcome == "rejected":
        raise ApiError(400, "rejected", f"Not imported: {reason}.")
    if outcome != "accepted":
        # The import's rule: an address already here, suppressed or erased is left alone.
        raise ApiError(409, outcome, f"Not imported: the address is {outcome}.")
    subscriber_id = Subscriber.objects.get(email=email).pk
    audit.record(request, "api: import", f"subscriber #{subscriber_id}")
    return Status(201, _one(subscriber_id))


@router.get("/", response={200: SubscriberPage, **ERRORS})
def list_subscribers(
    request,
    updated_since: Moment | None = None,
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(PAGE_SIZE, ge=1, le=PAGE_SIZE),
):
    """Every subscriber changed since `updated_since`, oldest change first, `limit` a page; a
    keyset on (updated_at, id), so page 1,000 costs what page 1 does."""
    rows = Subscriber.objects.order_by("updated_at", "id").values(*FIELDS)
    if updated_since is not None:
        rows = rows.filter(updated_at__gte=updated_since)
    if cursor:
        when, last_id = _read_cursor(cursor, 2)
        try:
            when, last_id = datetime.fromisoformat(when), int(last_id)
        except ValueError:
            raise ApiError(400, "invalid", "Bad cursor.", {"cursor": ["Pass back a next_cursor."]})
        # updated_at >= t narrows the index range; the OR only filters its first rows.
        rows = rows.filter(updated_at__gte=when).filter(Q(updated_at__gt=when) | Q(id__gt=last_id))
    results, next_cursor = _subscribers_page(rows, limit)
    return {"results": results, "next_cursor": next_cursor}


@router.get("/{subscriber_id}/", response={200: SubscriberOut, **ERRORS})
def read_subscriber(request, subscriber_id: Id):
    return _one(subscriber_id)


@router.patch("/{subscriber_id}/", response={200: SubscriberOut, **ERRORS})
def change_subscriber(request, subscriber_id: Id, payload: SubscriberPatch):
    """Change the name, the topics or the reading preferences, as the preference centre does:
    on the reader's word (a call, a letter), unlike an import's record from elsewhere."""
    subscriber = get_object_or_404(Subscriber, pk=subscriber_id)
    topics = _topic_slugs(payload.topics)
    if topics is None:
        topics = list(subscriber.topics.values_list("slug", flat=True))
    try:
        subscriptions.update_preferences(
            subscriber_id=subscriber.pk,
            first_name=subscriber.first_name if payload.first_name is None else payload.first_name,
            topic_slugs=topics,
            allow_tracking=subscriber.allow_tracking,
            digest_only=subscriber.digest_only,
            access_choices=payload.access,
        )
    except DjangoValidationError as error:
        raise ApiError(400, "invalid", "Invalid name.", {"first_name": error.messages})
    audit.record(request, "api: preferences", f"subscriber #{subscriber.pk}")
    return _one(subscriber.pk)


@router.post("/{subscriber_id}/unsubscribe/", response={200: Unsubscribed, **ERRORS})
def unsubscribe_subscriber(request, subscriber_id: Id):
    subscriber = get_object_or_404(Subscriber, pk=subscriber_id)
    changed = subscriptions.unsubscribe(subscriber_id=subscriber.pk)
    if changed:
        audit.record(request, "api: unsubscribe", f"subscriber #{subscriber.pk}")
    status = Subscriber.objects.values_list("status", flat=True).get(pk=subscriber.pk)
    return {"changed": changed, "status": status}


@router.delete("/{subscriber_id}/", response={204: None, **ERRORS})
def erase_subscriber(request, subscriber_id: Id):
    """Erase, as the preference centre does: the person and every copy of the address go; a
    keyed hash stays on the suppression list."""
    if not subscriptions.erase(subscriber_id=subscriber_id):
        raise ApiError(404, "not_found", "No such subscriber (or erased).")
    audit.record(request, "api: erase", f"subscriber #{subscriber_id}")
    return Status(204, None)


@router.get("/{subscriber_id}/export/", response={200: dict, **ERRORS})
def export_subscriber(request, subscriber_id: Id):
    """Everything stored about the person: the preference centre's data download."""
    subscriber = get_object_or_404(Subscriber, pk=subscriber_id)
    audit.record(request, "api: export", f"subscriber #{subscriber.pk}")
    return subscriptions.export_data(subscriber)


# --- Suppressions -------------------------------------------------------------------------------


def _address(raw: str) -> str:
    try:
        return normalise_email(raw)
    except DjangoValidationError as error:
        raise ApiError(400, "invalid", "The request has invalid fields.", {"email": error.messages})


@suppressions.post("/", response={201: SuppressionCheck, **ERRORS})
def add_suppression(request, payload: SuppressionIn):
    """Never mail this address again (another system's "do not email", an FPS request)."""
    policy.suppress_address(_address(payload.email), payload.reason)
    audit.record(request, "api: suppress", "1 address", reason=payload.reason, note=payload.note)
    row = Suppression.objects.get(email_hash=suppression_hash(payload.email))
    return Status(201, {"suppressed": True, "reason": row.reason})


@suppressions.get("/check/", response={200: SuppressionCheck, **ERRORS})
def check_suppression(request, email: str = Query(..., max_length=320)):
    digest = suppression_hash(_address(email))
    reason = Suppression.objects.filter(email_hash=digest).values_list("reason", flat=True).first()
    return {"suppressed": reason is not None, "reason": reason}


@suppressions.get("/", response={200: SuppressionPage, **ERRORS})
def list_suppressions(
    request,
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(PAGE_SIZE, ge=1, le=PAGE_SIZE),
):
    """The list as keyed hashes (no address is stored): a system holding the address finds it by
    /check/."""
    rows = Suppression.objects.order_by("id").values("id", "email_hash", "reason", "created_at")
    if cursor:
        (last_id,) = _read_cursor(cursor, 1)
        if not last_id.isdigit():
            raise ApiError(400, "invalid", "Bad cursor.", {"cursor": ["Pass back a next_cursor."]})
        rows = rows.filter(id__gt=int(last_id))
    rows = list(rows[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {"results": rows, "next_cursor": _cursor(rows[-1]["id"]) if more else None}
