"""The admin index for non-engineers: the accounts, authenticators, recovery codes and change log
only for superusers, together under "System" and named as a person would name them."""

import pytest
from django.contrib.auth.models import User

from tests.factories import staff_member

pytestmark = pytest.mark.django_db
FURNITURE = ["OTP_STATIC", "OTP_TOTP", "Static devices", "TOTP devices", "Log entries"]


def index(client, user) -> str:
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("role", ["editor", "sender", "subscriber manager"])
def test_staff_see_no_system_section(client, role):
    page = index(client, staff_member(role))
    assert ">System<" not in page
    assert not [word for word in FURNITURE if word in page]


def test_a_superuser_finds_the_system_furniture_under_system_with_human_names(client):
    page = index(client, User.objects.create_superuser("boss", "boss@engage.example.org"))
    assert not [word for word in FURNITURE if word in page]
    system = page[page.index(">System<") :]
    for name in ["Authenticator apps", "Recovery codes", "Change log", "Staff accounts", "Roles"]:
        assert name in system, name
    assert page.index(">Engage<") < page.index(">System<")
