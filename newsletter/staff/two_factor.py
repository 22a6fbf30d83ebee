"""Two-factor sign-in for staff (django-otp): an authenticator app (TOTP) and recovery codes.

Required for every staff account when ADMIN_REQUIRE_2FA is on (the default whenever DEBUG is off).
A superuser enrols an account with `manage.py enrol_2fa USERNAME`, which prints the authenticator
link and ten recovery codes once; each recovery code works one time.
"""

import io

import segno
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from newsletter.staff import audit

RECOVERY_CODES = 10
NO_DEVICE = (
    "This account has no authenticator set up yet: ask an administrator to run "
    "“manage.py enrol_2fa %(username)s”."
)
WRONG_CODE = (
    "That code is not right: enter the 6-digit code your authenticator shows now, or an unused "
    "recovery code."
)


def required() -> bool:
    return settings.ADMIN_REQUIRE_2FA


def verified(request) -> bool:
    """May this signed-in person use the admin as far as the second factor goes?"""
    return not required() or request.user.is_verified()


@transaction.atomic
def enrol(user) -> tuple[TOTPDevice, list[str]]:
    """A new authenticator and new recovery codes for `user`, replacing any earlier ones."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=True)
    recovery = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=recovery, token=code) for code in codes)
    return device, codes


def qr_code(device: TOTPDevice) -> str:
    """The authenticator's otpauth:// link as a QR code drawn with block characters."""
    out = io.StringIO()
    segno.make(device.config_url, error="m").terminal(out=out, compact=True, border=2)
    return out.getvalue()


class StaffLoginForm(AdminAuthenticationForm):
    """The admin's sign-in: the password, then the code from the authenticator (or a recovery
    code) in the same form."""

    otp_token = forms.CharField(
        label="Code",
        required=False,
        max_length=16,
        help_text="From your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )

    def clean(self):
        data = super().clean()  # the password, and that the account is active staff
        user = self.get_user()
        token = data.get("otp_token", "").replace(" ", "")
        if not (required() or token):
            return data
        if not user_has_device(user):
            raise ValidationError(NO_DEVICE, code="no_device", params={"username": user})
        device = match_token(user, token) if token else None
        if device is None:
            audit.record(user, "sign-in refused: second factor", request=self.request)
            raise ValidationError(WRONG_CODE, code="otp")
        # django-otp marks the session verified by this device when the login completes.
        user.otp_device = device
        return data
