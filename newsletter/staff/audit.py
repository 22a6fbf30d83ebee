"""The audit trail: who did what, when, and from which address.

Two kinds of entries. Changes to the models staff edit (campaigns, posts, digests, subscribers'
status and topics, suppressions, accounts and groups) are recorded by django-auditlog, which takes
the actor and address from AuditContextMiddleware. What is not a change to one row (a sign-in, an
export, a test send, a schedule, an erasure) is recorded by `record`, which every such path calls.
Neither kind names a subscriber by address: a trail kept after an erasure must not undo it.
"""

from auditlog.context import set_extra_data
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import pre_save

from newsletter.models import (
    AuditEvent,
    Campaign,
    DigestSchedule,
    Post,
    Series,
    SeriesStep,
    Subscriber,
    Suppression,
    Topic,
)
from newsletter.web.clientip import client_ip


def record(actor, action: str, target: str = "", *, request=None, **details) -> AuditEvent:
    """Add one entry. `target` names what was acted on without personal data ("campaign #4",
    "subscriber #17", "32 subscribers"); `details` is anything else worth keeping, as JSON."""
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "",
        action=action,
        target=str(target)[:200],
        ip=(client_ip(request) or None) if request is not None else None,
        details=details,
    )


class AuditContextMiddleware:
    """Tells django-auditlog who is acting and from where, for the model changes of a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # request.user stays lazy: only a request that writes an entry loads the account.
        context = {"actor": request.user, "remote_addr": client_ip(request) or None}
        with set_extra_data(context_data=context):
            return self.get_response(request)


def _pseudonymise(sender, instance, **kwargs):
    # auditlog names a row by str(row), which for a subscriber is the address.
    if instance.content_type.model_class() is Subscriber:
        instance.object_repr = f"subscriber #{instance.object_pk}"
        instance.serialized_data = None


def _logged_in(sender, request, user, **kwargs):
    if user.is_staff:
        record(user, "sign-in", request=request)


def _login_failed(sender, credentials, request=None, **kwargs):
    record(None, "sign-in refused", credentials.get("username", ""), request=request)


def connect() -> None:
    """Register the audited models and the sign-in receivers (from the app's ready())."""
    User = get_user_model()
    auditlog.register(Campaign, m2m_fields={"topics"})
    auditlog.register(Post)
    auditlog.register(DigestSchedule, m2m_fields={"topics"})
    auditlog.register(Series)
    auditlog.register(SeriesStep, m2m_fields={"posts"})
    auditlog.register(Topic)
    auditlog.register(Suppression)
    auditlog.register(
        Subscriber, include_fields=["status", "allow_tracking"], m2m_fields={"topics"}
    )
    auditlog.register(Group, m2m_fields={"permissions"})
    auditlog.register(
        User,
        exclude_fields=["password", "last_login"],
        m2m_fields={"groups", "user_permissions"},
    )
    pre_save.connect(
        _pseudonymise, sender=LogEntry, dispatch_uid="newsletter.staff.audit.pseudonymise"
    )
    user_logged_in.connect(_logged_in, dispatch_uid="newsletter.staff.audit.logged_in")
    user_login_failed.connect(_login_failed, dispatch_uid="newsletter.staff.audit.login_failed")
