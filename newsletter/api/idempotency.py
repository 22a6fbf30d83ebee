"""`Idempotency-Key` on POST: a retried request gets the first answer, and never creates twice.

The first request with a key stores a row before it runs (the unique constraint decides between
two at once); its answer is kept and replayed. The same key with another body (or path) is a
422; while the first is still being answered, a 409. A 5xx, 401 or 429 is not kept, so the
retry runs. Rows older than IDEMPOTENCY_HOURS are deleted by the webhooks' tick.
"""

import hashlib
from datetime import timedelta
from functools import wraps

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils import timezone

from newsletter.api import keys
from newsletter.models import IdempotentRequest

HEADER = "Idempotency-Key"
IDEMPOTENCY_HOURS = 24
# A first request that died mid-way (a killed process) frees its key after this.
ABANDONED = timedelta(minutes=5)
NOT_KEPT = {401, 429}


def _error(status: int, code: str, message: str) -> JsonResponse:
    body = {"error": {"code": code, "message": message, "fields": {HEADER: [message]}}}
    return JsonResponse(body, status=status)


def _key(request):
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return keys.key_authenticate(token.strip()) if scheme.lower() == "bearer" else None


def idempotent(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        name = request.headers.get(HEADER)
        if request.method != "POST" or name is None:
            return view(request, *args, **kwargs)
        api_key = _key(request)
        if api_key is None:
            return view(request, *args, **kwargs)  # the API answers 401
        if not name or len(name) > 255 or not name.isprintable():
            return _error(400, "invalid", f"{HEADER} must be 1 to 255 printable characters.")
        try:
            body = request.body
        except RequestDataTooBig:
            return view(request, *args, **kwargs)  # the API answers 413
        request.api_key = api_key
        fingerprint = hashlib.sha256(
            b"\n".join([request.method.encode(), request.get_full_path().encode(), body])
        ).hexdigest()
        row, mine = _claim(api_key, name, fingerprint)
        if not mine:
            if row.fingerprint != fingerprint:
                return _error(
                    422, "idempotency_key_reused", f"This {HEADER} was used for another request."
                )
            if row.status_code is None:
                return _error(409, "in_progress", f"A request with this {HEADER} is running.")
            replay = JsonResponse({}, status=row.status_code)
            replay.content = bytes(row.body)
            replay["Content-Type"] = row.content_type or "application/json"
            replay["Idempotent-Replayed"] = "true"
            return replay
        try:
            response = view(request, *args, **kwargs)
        except BaseException:
            IdempotentRequest.objects.filter(pk=row.pk).delete()
            raise
        if response.status_code >= 500 or response.status_code in NOT_KEPT:
            IdempotentRequest.objects.filter(pk=row.pk).delete()
        else:
            IdempotentRequest.objects.filter(pk=row.pk).update(
                status_code=response.status_code,
                body=response.content,
                content_type=response.get("Content-Type", ""),
            )
        return response

    return wrapper


def _claim(api_key, name: str, fingerprint: str) -> tuple[IdempotentRequest, bool]:
    """The row for this key, and whether this request made it (and so runs)."""
    for _ in range(3):
        try:
            with transaction.atomic():
                row = IdempotentRequest.objects.create(
                    api_key=api_key, key=name, fingerprint=fingerprint
                )
            return row, True
        except IntegrityError:
            row = IdempotentRequest.objects.filter(api_key=api_key, key=name).first()
            if row is None:
                continue  # deleted meanwhile (a failed first try): try to claim it again
            abandoned = row.status_code is None and timezone.now() - row.created_at > ABANDONED
            if abandoned and IdempotentRequest.objects.filter(pk=row.pk, status_code=None).delete():
                continue
            return row, False
    return row, False


def forget_old() -> int:
    cutoff = timezone.now() - timedelta(hours=IDEMPOTENCY_HOURS)
    return IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()[0]
