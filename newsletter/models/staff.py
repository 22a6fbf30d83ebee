"""The staff audit trail, and the test list superusers keep."""

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
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.actor_name or 'system'} {self.action} {self.target}".strip()


class ApprovedTestAddress(models.Model):
    """An address outside the staff that may get campaign tests (a trustee, a seed inbox at each
    big mailbox provider). Superusers keep the list (no role is granted its permissions), so a
    sender cannot widen who a test reaches: newsletter.campaigns.sendtest."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True, help_text="Who or what this address is.")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email"]
        verbose_name = "test recipient"

    def __str__(self):
        return self.email
