"""`manage.py create_staff`: the first account, ready to sign in with its second factor."""

import io
import re
from base64 import b32decode
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_otp.oath import totp

from newsletter.models import AuditEvent


def create(username="alice", email="alice@your-charity.org.uk") -> str:
    out = io.StringIO()
    call_command("create_staff", username, "--email", email, stdout=out)
    return out.getvalue()


def sign_in(client, username, password, code):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "otp_token": code},
    )


def test_it_prints_what_the_person_needs_and_they_sign_in_with_it(client, db, settings):
    settings.ADMIN_REQUIRE_2FA = True
    printed = create()

    password = re.search(r"password: (\S+)", printed).group(1)
    uri = re.search(r"otpauth://totp/\S+", printed).group(0)
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    codes = re.findall(r"^  ([a-z0-9]{8})$", printed, re.MULTILINE)
    assert "issuer=Engage" in uri
    assert printed.count("█") > 100  # a QR code drawn in the terminal
    assert len(codes) == 10
    assert "enrol_2fa" in printed and "/admin/" in printed  # what to do next

    user = User.objects.get(username="alice")
    assert user.is_superuser and user.is_staff and user.email == "alice@your-charity.org.uk"
    assert sign_in(client, "alice", password, "000000").status_code == 200  # wrong code: form again
    # django-otp refuses every code for a second after a wrong one (its throttle): the person
    # types the right one a few seconds later.
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=True):
        code = f"{totp(b32decode(secret + '=' * (-len(secret) % 8))):06d}"
        response = sign_in(client, "alice", password, code)
        assert response.status_code == 302
        assert client.get("/admin/").status_code == 200

        client.logout()
        assert sign_in(client, "alice", password, codes[0]).status_code == 302  # a recovery code
    assert AuditEvent.objects.filter(action="first staff account created").count() == 1


def test_it_refuses_an_existing_name_and_points_to_enrol_2fa(db):
    create()
    with pytest.raises(CommandError, match="enrol_2fa alice"):
        create()
    assert User.objects.filter(username="alice").count() == 1
