"""The preflight in a browser (issue 25's "Done when"): a campaign with an image without alt text
and a pale brand colour shows both findings in the preview and on the confirmation page, which
still sends. Screenshots in test-artifacts/."""

import pytest

from newsletter.models import Brand, Campaign
from tests.browser import signed_in_tab
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]


def test_the_preview_and_the_confirmation_show_both_findings(
    topics, live_server, browser, screenshot, django_user_model
):
    Brand.objects.create(pk=1, colour="#ffe066")
    post = PostFactory(
        topic=topics["news"],
        title="Clinic news",
        image_url="https://example.org/IMG_2041.jpg",
        image_alt="",
    )
    SubscriberFactory(active=True, topics=[topics["news"]])
    campaign = CampaignFactory(subject="Winter news", posts=[post], topics=[topics["news"]])
    user = django_user_model.objects.create_superuser("admin", "admin@engage.example.org", "pw")
    tab = signed_in_tab(browser, live_server, user)

    tab.goto(f"{live_server.url}/admin/newsletter/campaign/{campaign.pk}/preview/")
    tab.get_by_role("heading", name="Accessibility check: 2 findings").wait_for()
    assert tab.get_by_text("An image has no alt text (IMG_2041.jpg).").is_visible()
    assert tab.get_by_text("The brand colour #ffe066 has").is_visible()
    screenshot(tab, "preview with two findings")

    tab.goto(f"{live_server.url}/admin/newsletter/campaign/{campaign.pk}/schedule/")
    tab.get_by_role("button", name="Schedule…").click()
    tab.get_by_text("The accessibility check found 2 problems that remain").wait_for()
    assert tab.get_by_text("An image has no alt text (IMG_2041.jpg).").is_visible()
    screenshot(tab, "confirmation counts the findings")
    tab.get_by_role("button", name="Yes, send").click()
    tab.get_by_text("“Winter news” is starting: it goes out now.").wait_for()
    tab.context.close()
    campaign.refresh_from_db()
    assert campaign.status != Campaign.Status.DRAFT  # it went ahead, findings and all
