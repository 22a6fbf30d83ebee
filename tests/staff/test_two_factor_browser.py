"""A staff member signs in to the admin with a password and an authenticator code, in headless
Chromium against the live server. Screenshots in test-artifacts/<test name>/."""

import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from tests.staff.test_two_factor import current_code

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]


def test_staff_sign_in_with_password_and_authenticator_code(
    live_server,
    settings,
    page,
    screenshot,
):
    settings.ADMIN_REQUIRE_2FA = True
    sam = User.objects.create_user(
        "sam", "sam@engage.example.org", "a long passphrase", is_staff=True
    )
    out = StringIO()
    call_command("enrol_2fa", "sam", stdout=out)
    recovery = re.findall(r"^  ([a-z0-9]{8})$", out.getvalue(), re.MULTILINE)

    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("That code is not right").wait_for()
    screenshot(page, "a password alone is refused")

    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_label("Code").fill(current_code(sam))
    screenshot(page, "password and code")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Site administration").wait_for()
    screenshot(page, "signed in")

    page.get_by_role("button", name="Log out").click()
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_label("Code").fill(recovery[0])
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Site administration").wait_for()
    screenshot(page, "signed in with a recovery code")
