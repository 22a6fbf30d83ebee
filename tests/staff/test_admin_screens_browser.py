"""The admin index (the engineers' models under "System") and a new campaign's compose page, as a
superuser sees them in headless Chromium. Screenshots in test-artifacts/<test name>/ (what a
sender sees of the index: tests/staff/test_admin_index.py)."""

import pytest
from django.contrib.auth import get_user_model

from tests.factories import PostFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]


def sign_in(tab, url: str, username: str) -> None:
    tab.goto(f"{url}/admin/login/")
    tab.get_by_label("Username").fill(username)
    tab.get_by_label("Password").fill("a long passphrase")
    tab.get_by_role("button", name="Log in").click()
    tab.get_by_role("heading", name="Site administration").wait_for()


def test_the_admin_index_and_compose_page_as_staff_see_them(
    live_server,
    page,
    screenshot,
    topics,
    settings,
):
    settings.SITE_URL = live_server.url
    PostFactory(topic=topics["news"], title="A clinic opens in Leeds")
    get_user_model().objects.create_superuser("boss", "boss@example.org", "a long passphrase")

    sign_in(page, live_server.url, "boss")
    screenshot(page, "admin index as a superuser")
    page.locator("caption", has_text="System").wait_for()
    assert page.get_by_role("link", name="Authenticator apps").count() == 1
    assert page.get_by_text("TOTP devices").count() == 0
    page.goto(f"{live_server.url}/admin/newsletter/campaign/add/")
    page.locator("#id_subject").wait_for()
    screenshot(page, "compose a new campaign")
