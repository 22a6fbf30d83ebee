"""API keys: made by a superuser in admin (the secret shown once), stored hashed, revocable, and
what each scope may do."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone

from newsletter.models import ApiKey, Scope

KEY_PREFIX = "eng_"
PREFIX_LENGTH = 12  # "eng_" and 8 random characters, kept in clear to find the key

# What each scope may do. An editor's key reads no address and sends nothing; only a full key
# publishes a post (publishing otherwise stays with staff).
TOPICS, POSTS, PUBLISH, CAMPAIGNS, SUBSCRIBERS, ANSWERS, FULL_ONLY = (
    "topics",
    "posts",
    "publish",
    "campaigns",
    "subscribers",
    "answers",
    "full",
)
ALLOWED = {
    Scope.EDITOR: {TOPICS, POSTS, CAMPAIGNS},
    Scope.SENDER: {TOPICS, CAMPAIGNS},
    Scope.SUBSCRIBERS: {TOPICS, SUBSCRIBERS, ANSWERS},
    Scope.FULL: {TOPICS, POSTS, PUBLISH, CAMPAIGNS, SUBSCRIBERS, ANSWERS, FULL_ONLY},
}
# last_used_* is written at most this often per key: not one UPDATE per request.
TOUCH_INTERVAL = timedelta(seconds=60)


def may(scope: str, capability: str) -> bool:
    return capability in ALLOWED.get(scope, set())


def _hash(secret: str) -> str:
    # The secret is 256 random bits: a fast hash is as strong as a slow one here.
    return hashlib.sha256(secret.encode()).hexdigest()


def key_create(*, name: str, scope: str, created_by=None) -> tuple[ApiKey, str]:
    """A new key and its secret, which is never shown again."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name,
        scope=scope,
        prefix=secret[:PREFIX_LENGTH],
        secret_hash=_hash(secret),
        created_by=created_by,
    )
    return key, secret


def key_authenticate(secret: str) -> ApiKey | None:
    """The live key this secret belongs to, or None (unknown, wrong or revoked)."""
    if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    key = ApiKey.objects.filter(prefix=secret[:PREFIX_LENGTH]).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    if key.revoked_at is not None:
        return None
    return key


def key_touch(key: ApiKey, ip: str | None) -> None:
    now = timezone.now()
    if key.last_used_at and now - key.last_used_at < TOUCH_INTERVAL and key.last_used_ip == ip:
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=ip or None)


def key_revoke(*, key_id: int) -> bool:
    return bool(ApiKey.objects.filter(pk=key_id, revoked_at=None).update(revoked_at=timezone.now()))
