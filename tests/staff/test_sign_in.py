"""Staff sign-in gives nothing away and cannot be guessed at: any wrong credential (password, code,
username) gets the one answer; failed attempts are limited per account and per address
(django-axes), a success clears them, and the lockout page says how staff get back in. A
legitimate sign-in is never refused for what others did."""

import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from newsletter.staff import two_factor

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"
INDEX = "/admin/"
OFFICE = "192.0.2.10"
PASSWORD = "a-long-pass"  # noqa: S105 - the test accounts'


@pytest.fixture(autouse=True)
def _second_factor_on(settings):
    settings.ADMIN_REQUIRE_2FA = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only


def staff(username: str) -> User:
    user = User.objects.create_user(username, f"{username}@engage.example.org", PASSWORD)
    User.objects.filter(pk=user.pk).update(is_staff=True)
    two_factor.enrol(user)
    return user


def code(user) -> str:
    device = TOTPDevice.objects.get(user=user)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def sign_in(client, username="sam", password=PASSWORD, otp_token="", ip=OFFICE):
    return client.post(
        LOGIN,
        {"username": username, "password": password, "otp_token": otp_token},
        REMOTE_ADDR=ip,
    )


def answer(response) -> tuple[int, list[str]]:
    """What a person signing in is told: the status and the error messages."""
    page = response.content.decode()
    errors = re.findall(r'class="errornote">\s*(.*?)\s*</p>', page, re.S)
    errors += re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.S)
    return response.status_code, errors


def test_a_wrong_password_and_a_right_password_with_a_wrong_code_get_one_answer(client):
    sam = staff("sam")
    attempts = {
        "wrong password, right code": {"password": "nope", "otp_token": code(sam)},
        "wrong password, no code": {"password": "nope"},
        "right password, wrong code": {"otp_token": "000000"},
        "right password, no code": {},
        "no such account": {"username": "nobody", "otp_token": "000000"},
    }
    # Each from an address of its own: four tries stay under the limit for the account.
    answers = {
        what: answer(sign_in(client, ip=f"198.51.100.{n}", **fields))
        for n, (what, fields) in enumerate(attempts.items())
    }
    assert len(set(map(repr, answers.values()))) == 1, answers
    status, errors = answers["right password, wrong code"]
    assert status == 200 and errors and "code" in errors[0]
    assert client.get(INDEX).status_code == 302  # nobody got in


def test_an_account_is_locked_after_five_failures_from_anywhere_and_the_page_says_how_to_recover(
    client,
):
    sam = staff("sam")
    for n in range(5):
        sign_in(client, password="guess", ip=f"198.51.100.{n}")
    locked = sign_in(client, otp_token=code(sam), ip="203.0.113.7")  # the right credentials
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "axes_reset_username sam" in page and "15 minutes" in page
    assert client.get(INDEX).status_code == 302

    call_command("axes_reset_username", "sam", stdout=StringIO())
    assert sign_in(client, otp_token=code(sam)).status_code == 302


def test_wrong_codes_count_as_failures_too(client):
    sam = staff("sam")
    for _ in range(5):
        sign_in(client, otp_token="000000")
    assert sign_in(client, otp_token=code(sam)).status_code == 429


def test_an_address_guessing_at_many_accounts_is_locked_but_others_sign_in(client):
    staff("sam")
    kim = staff("kim")
    for n in range(5):
        sign_in(client, username=f"guess{n}", password="guess", ip="203.0.113.66")
    guesser = sign_in(client, username="kim", otp_token=code(kim), ip="203.0.113.66")
    assert guesser.status_code == 429
    assert sign_in(client, username="kim", otp_token=code(kim)).status_code == 302


def test_a_success_clears_the_failures(client):
    sam = staff("sam")
    for _round in range(3):
        for _ in range(4):
            sign_in(client, password="typo")
        assert sign_in(client, otp_token=code(sam)).status_code == 302
        client.logout()
        TOTPDevice.objects.filter(user=sam).update(last_t=-1)  # the same code again, a step later


def test_a_busy_office_signing_in_is_never_refused(client):
    """Twenty-one people behind one address sign in within a minute, after a few typos elsewhere."""
    people = [staff(f"staff{n}") for n in range(21)]
    for n in range(3):
        sign_in(client, username="staff0", password="typo", ip=f"198.51.100.{n}")
    for person in people:
        response = sign_in(client, username=person.username, otp_token=code(person))
        assert response.status_code == 302, person.username
        client.logout()
