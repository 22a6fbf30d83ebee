"""Two-factor sign-in for staff: a password and a code from an authenticator app (TOTP), or a
one-time recovery code, whenever ADMIN_REQUIRE_2FA is on (the default when DEBUG is off)."""

import os
import re
import subprocess
import sys
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from newsletter.models import AuditEvent

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"
INDEX = "/admin/"


@pytest.fixture(autouse=True)
def _second_factor_on(settings):
    settings.ADMIN_REQUIRE_2FA = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only


@pytest.fixture
def sam():
    return User.objects.create_user("sam", "sam@engage.example.org", "a-long-pass", is_staff=True)


@pytest.fixture
def enrolled(sam):
    """Sam enrolled with `manage.py enrol_2fa`: the recovery codes it printed."""
    out = StringIO()
    call_command("enrol_2fa", "sam", stdout=out)
    printed = out.getvalue()
    assert "otpauth://totp/" in printed
    return re.findall(r"^  ([a-z0-9]{8})$", printed, re.MULTILINE)


def current_code(user) -> str:
    device = TOTPDevice.objects.get(user=user)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def sign_in(client, **fields):
    return client.post(LOGIN, {"username": "sam", "password": "a-long-pass", **fields})


def test_enrolment_prints_ten_recovery_codes(enrolled):
    assert len(enrolled) == 10 and len(set(enrolled)) == 10


def test_staff_sign_in_with_the_code_from_their_authenticator(client, sam, enrolled):
    response = sign_in(client, otp_token=current_code(sam))
    assert response.status_code == 302
    assert client.get(INDEX).status_code == 200


def test_a_password_alone_is_refused(client, sam, enrolled):
    response = sign_in(client)
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert client.get(INDEX).status_code == 302  # back to the login page


def test_a_wrong_code_is_refused_and_recorded(client, sam, enrolled):
    code = current_code(sam)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    response = sign_in(client, otp_token=wrong)
    assert "That code is not right" in response.content.decode()
    assert client.get(INDEX).status_code == 302
    entry = AuditEvent.objects.get(action="sign-in refused: second factor")
    assert entry.actor == sam and entry.ip == "127.0.0.1"


def test_a_recovery_code_works_once(client, sam, enrolled):
    assert sign_in(client, otp_token=enrolled[0]).status_code == 302
    assert client.get(INDEX).status_code == 200
    client.logout()
    again = sign_in(client, otp_token=enrolled[0])
    assert "That code is not right" in again.content.decode()
    assert client.get(INDEX).status_code == 302


def test_a_session_signed_in_without_the_second_factor_cannot_use_the_admin(client, sam, enrolled):
    client.force_login(sam)
    response = client.get(INDEX)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_staff_without_an_authenticator_are_told_how_to_get_one(client, sam):
    response = sign_in(client, otp_token="123456")
    assert "manage.py enrol_2fa sam" in response.content.decode()
    assert client.get(INDEX).status_code == 302


def test_enrolling_again_replaces_the_old_authenticator_and_codes(client, sam, enrolled):
    old_codes = enrolled
    call_command("enrol_2fa", "sam", stdout=StringIO())
    assert TOTPDevice.objects.filter(user=sam).count() == 1
    assert "That code is not right" in sign_in(client, otp_token=old_codes[1]).content.decode()


def test_the_second_factor_is_optional_only_when_switched_off(client, sam, settings):
    settings.ADMIN_REQUIRE_2FA = False
    assert sign_in(client).status_code == 302
    assert client.get(INDEX).status_code == 200


def test_the_login_rate_limit_still_applies(client, sam, enrolled, settings):
    settings.ADMIN_LOGIN_RATE = "3/m"
    for _ in range(3):
        sign_in(client, otp_token="000000")
    assert sign_in(client, otp_token=current_code(sam)).status_code == 429
    assert client.get(INDEX).status_code == 302


@pytest.mark.parametrize(("debug", "required"), [("false", "True"), ("true", "False")])
def test_the_second_factor_is_required_by_default_when_debug_is_off(debug, required):
    env = {**os.environ, "DEBUG": debug, "SECRET_KEY": "x" * 50}
    env.pop("ADMIN_REQUIRE_2FA", None)
    code = "import django; django.setup(); from django.conf import settings; "
    code += "print(settings.ADMIN_REQUIRE_2FA)"
    env["DJANGO_SETTINGS_MODULE"] = "engage.settings"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == required, out.stderr
