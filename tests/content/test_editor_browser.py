"""Staff writing in admin, in headless Chromium against the live site (CSP on): a post with an
uploaded image seen in the live email preview, a campaign intro and greeting that change the
preview as they are typed, the event fields only for events, and axe on the pages. Screenshots in
test-artifacts/<test name>/."""

import pytest
from django.contrib.auth.models import User

from newsletter.models import Campaign, Image, Post
from tests.browser import AXE, write_markdown
from tests.factories import CampaignFactory, PostFactory, picture
from tests.support import wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]

PASSWORD = "a long passphrase"
ALT = "The new clinic's waiting room, with big windows"


@pytest.fixture
def site(live_server, settings, tmp_path):
    settings.SITE_URL = live_server.url
    settings.MEDIA_ROOT = tmp_path / "media"
    # A superuser: the staff groups (data migrations) are gone after a transactional test's flush;
    # what an editor may do is tests/test_roles.py's and tests/test_editor.py's to check.
    User.objects.create_superuser("editor", "ada@engage.example.org", PASSWORD, first_name="Ada")
    return live_server.url


def sign_in(tab, site: str) -> None:
    tab.goto(f"{site}/admin/login/")
    tab.get_by_label("Username").fill("editor")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Log in").click()
    tab.get_by_role("heading", name="Site administration").wait_for()


def photo() -> dict:
    jpeg = picture(2400, 1350, "JPEG", color="seagreen")
    return {"name": "waiting-room.jpg", "mimeType": "image/jpeg", "buffer": jpeg}


def preview(tab):
    return tab.frame_locator(".live-preview iframe")


def serious_violations(browser, site: str, path: str, *, before=None, include=None) -> list:
    """axe on an admin page, or the parts `include` selects (axe is injected, so this context
    bypasses the page's CSP)."""
    from tests.web.test_accessibility import violations

    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        sign_in(tab, site)
        tab.goto(f"{site}{path}")
        tab.locator(".live-preview[data-rendered]").wait_for(state="attached")
        if before:
            before(tab)
        return violations(tab, include)
    finally:
        context.close()


def test_staff_write_a_post_with_an_uploaded_image_and_see_it_in_the_live_preview(
    site,
    page,
    screenshot,
    topics,
):
    sign_in(page, site)
    page.goto(f"{site}/admin/newsletter/post/add/")
    event_fields = page.locator("fieldset.event-fields")

    # The event fields only for events.
    assert page.locator("#id_kind").input_value() == "news"
    assert event_fields.is_hidden()
    page.locator("#id_kind").select_option("event")
    event_fields.wait_for(state="visible")
    page.get_by_label("Location").wait_for()
    screenshot(page, "an event shows its fields")
    page.locator("#id_kind").select_option("news")
    event_fields.wait_for(state="hidden")

    page.locator("#id_title").press_sequentially("New clinic opens in Leeds")
    page.locator("#id_topic").select_option(label="News")
    page.locator("#id_status").select_option("published")
    page.locator("#id_url").fill("https://engage.example.org/news/new-clinic/")
    write_markdown(page, "body", "The **new clinic** sees people with motor neurone disease.\n\n")
    preview(page).get_by_text("new clinic", exact=True).wait_for()
    assert preview(page).locator("strong", has_text="new clinic").count() == 1

    # The image button asks for the file and its alt text, uploads, and inserts the Markdown.
    page.locator(".field-body").get_by_role("button", name="Upload an image").click()
    dialog = page.get_by_role("dialog", name="Insert an image")
    dialog.wait_for()
    dialog.get_by_role("button", name="Upload and insert").click()
    dialog.get_by_text("Describe the image for people who cannot see it.").wait_for()
    dialog.get_by_label("Image file").set_input_files(photo())
    screenshot(page, "the image dialog asks for alt text")
    dialog.get_by_label("Alt text").fill(ALT)
    dialog.get_by_role("button", name="Upload and insert").click()
    dialog.wait_for(state="hidden")

    image = Image.objects.get()
    assert (image.alt, image.width, image.height) == (ALT, 1200, 675)
    url = f"{site}{image.file.url}"
    body = page.locator("#id_body").input_value()
    assert f"![{ALT}]({url})" in body

    # The live preview shows the uploaded image, loaded from MEDIA_URL under the page's CSP.
    shown = preview(page).locator(f'img[src="{url}"]')
    shown.wait_for()
    assert shown.get_attribute("alt") == ALT
    wait_until(lambda: shown.evaluate("img => img.complete && img.naturalWidth") == 1200)
    screenshot(page, "the post with its image in the live preview")

    # An image dropped into the editor: the same dialog, with the file already chosen.
    dropped = page.evaluate_handle(
        """async (bytes) => {
            const files = new DataTransfer();
            files.items.add(new File([new Uint8Array(bytes)], "map.png", {type: "image/png"}));
            return files;
        }""",
        list(picture(300, 200, color="orange")),
    )
    page.locator(".field-body .CodeMirror-scroll").dispatch_event("drop", {"dataTransfer": dropped})
    dialog.wait_for()
    assert dialog.get_by_label("Image file").evaluate("input => input.files[0].name") == "map.png"
    dialog.get_by_label("Alt text").fill("A map of the way to the clinic")
    dialog.get_by_role("button", name="Upload and insert").click()
    dialog.wait_for(state="hidden")
    preview(page).locator('img[alt="A map of the way to the clinic"]').wait_for()

    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was added successfully").wait_for()
    post = Post.objects.get()
    assert f"![{ALT}]({url})" in post.body and "**new clinic**" in post.body
    assert "![A map of the way to the clinic](" in post.body


def test_staff_type_an_intro_and_edit_the_greeting_and_the_preview_follows(
    site,
    page,
    screenshot,
    topics,
):
    post = PostFactory(
        topic=topics["news"], title="Clinic opens in Leeds", summary="Shorter waits."
    )
    campaign = CampaignFactory(
        subject="December news", intro="", topics=[topics["news"]], posts=[post]
    )
    sign_in(page, site)
    page.goto(f"{site}/admin/newsletter/campaign/{campaign.pk}/change/")

    # The greeting the email opens with is on the form and in the preview, with Ada's name.
    assert page.get_by_label("Greeting").input_value() == "Dear {first_name},"
    preview(page).get_by_text("Dear Ada,").wait_for()
    preview(page).get_by_text("Clinic opens in Leeds").wait_for()
    screenshot(page, "the compose page with the editor and the preview")

    write_markdown(page, "intro", "Thank you for walking with us in **November**.")
    preview(page).get_by_text("Thank you for walking with us in").wait_for()
    assert preview(page).locator("strong", has_text="November").count() == 1

    greeting = page.get_by_label("Greeting")
    greeting.fill("Hello {first_name}, and welcome back")
    preview(page).get_by_text("Hello Ada, and welcome back").wait_for()
    assert preview(page).get_by_text("Dear Ada,").count() == 0
    screenshot(page, "the edited greeting in the preview")

    # An intro that greets as well: warned at once, refused on save.
    page.locator(".field-intro .CodeMirror").click()
    page.keyboard.press("Control+Home")
    page.keyboard.type("Dear all, ")
    warning = page.locator(".live-preview [data-warnings]")
    warning.get_by_text("The email already opens with the greeting").wait_for()
    screenshot(page, "a second greeting is warned about")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("start the intro without one, or clear the greeting").first.wait_for()
    assert Campaign.objects.get(pk=campaign.pk).greeting == "Dear {first_name},"

    page.get_by_label("Greeting").fill("")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was changed successfully").wait_for()
    saved = Campaign.objects.get(pk=campaign.pk)
    assert saved.greeting == ""
    assert saved.intro == "Dear all, Thank you for walking with us in **November**."


def test_the_writing_pages_have_no_serious_accessibility_violations(browser, site, topics):
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `make axe` (make test does it)")
    campaign = CampaignFactory(topics=[topics["news"]], posts=[PostFactory(topic=topics["news"])])

    def open_image_dialog(tab):
        tab.locator(".field-body").get_by_role("button", name="Upload an image").click()
        tab.get_by_role("dialog", name="Insert an image").wait_for()

    assert serious_violations(browser, site, "/admin/newsletter/post/add/") == []
    assert (
        serious_violations(browser, site, "/admin/newsletter/post/add/", before=open_image_dialog)
        == []
    )
    # The compose page's new parts. (Its posts inline, older, has two findings of its own: the
    # position inputs have no label, and Django's autocomplete box has no name.)
    new_parts = [".field-greeting", ".field-intro", ".live-preview"]
    for path in (
        "/admin/newsletter/campaign/add/",
        f"/admin/newsletter/campaign/{campaign.pk}/change/",
    ):
        assert serious_violations(browser, site, path, include=new_parts) == []
