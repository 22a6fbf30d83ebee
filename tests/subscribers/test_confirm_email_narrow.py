"""The confirmation email on a phone: nothing wider than a 375 px screen."""

import pytest

from newsletter.mail.emails import make_message
from newsletter.subscribers.tokens import confirm_url

pytestmark = pytest.mark.django_db


def test_the_confirmation_email_fits_a_375px_screen(page, screenshot):
    message = make_message(
        "confirm",
        "reader@example.org",
        {"first_name": "Rita", "confirm_url": confirm_url(123456789), "expires_days": 7},
    )
    [(html, _)] = message.alternatives
    assert confirm_url(123456789) in html
    page.set_viewport_size({"width": 375, "height": 800})

    page.set_content(html)

    screenshot(page, "confirmation email at 375px")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    assert page.get_by_role("link", name="Confirm my subscription").is_visible()
