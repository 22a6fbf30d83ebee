"""The staff audit trail."""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One thing a person did that the trail must show beyond model changes (django-auditlog
    records those): a sign-in, an export, a test send, a schedule, an erasure. Rows are only ever
    added: admin shows them read-only, and the actor's name is kept as text so deleting the
    account does not erase what it did."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, db_index=True)
    target = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.actor_name or 'system'} {self.action} {self.target}".strip()
