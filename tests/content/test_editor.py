"""Writing in admin: the live preview of a campaign or a post as typed (rendered by the pipeline,
sanitised, for those who may change it, 400 for nonsense), the editable greeting (frozen when
scheduled, warned about when the intro greets too), and the email that goes out with both."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from newsletter import delivery
from newsletter.admin.editor import MAX_MARKDOWN
from newsletter.campaigns import scheduling
from newsletter.campaigns.snapshot import render_body
from newsletter.campaigns.states import transition
from newsletter.mail import rendering
from newsletter.models import DEFAULT_GREETING, Campaign, Delivery, Image, Post
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory, picture, staff_member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = "https://engage.example.org"


@pytest.fixture
def campaign(topics):
    post = PostFactory(topic=topics["news"], title="Clinic opens in Leeds")
    return CampaignFactory(subject="December news", topics=[topics["news"]], posts=[post])


def preview_url(campaign=None) -> str:
    if campaign is None:
        return reverse("admin:campaign-live-preview-add")
    return reverse("admin:campaign-live-preview", args=[campaign.pk])


def as_typed(campaign, **changes) -> dict:
    """The compose form's values as the browser posts them."""
    data = {
        "subject": campaign.subject,
        "preheader": campaign.preheader,
        "greeting": campaign.greeting,
        "intro": campaign.intro,
        "topics": [topic.pk for topic in campaign.topics.all()],
    }
    for i, item in enumerate(campaign.items.order_by("position")):
        data[f"items-{i}-post"] = item.post_id
        data[f"items-{i}-position"] = item.position
    data.update(changes)
    return data


def test_the_campaign_preview_shows_the_email_as_typed_and_saves_nothing(client, editor, campaign):
    typed = as_typed(
        campaign,
        subject="December news, typed",
        intro="Thank you for **everything** this year.",
        greeting="Hello {first_name}, good to see you",
    )
    response = client.post(preview_url(campaign), typed)

    assert response.status_code == 200
    answer = response.json()
    assert answer["subject"] == "December news, typed"
    assert "<strong>everything</strong>" in answer["html"]
    assert answer["html"].count("Hello Ada, good to see you") == 1  # the staff member's name
    assert "Clinic opens in Leeds" in answer["html"]
    assert answer["warnings"] == []
    assert answer["size"] == len(answer["html"].encode())
    saved = Campaign.objects.get(pk=campaign.pk)
    assert (saved.subject, saved.intro, saved.greeting) == (
        "December news",
        campaign.intro,
        DEFAULT_GREETING,
    )


def test_the_preview_renders_exactly_what_the_preview_page_and_the_send_render(
    client, editor, campaign
):
    answer = client.post(preview_url(campaign), as_typed(campaign)).json()

    body = render_body(campaign, frozenset({"news"}))
    reader = SubscriberFactory.build(pk=0, first_name="Ada")
    assert answer["html"] == rendering.personalise(body, reader).html


def test_the_preview_follows_the_posts_and_topics_of_the_form(client, editor, campaign, topics):
    walk = PostFactory(topic=topics["events"], title="Charity walk")
    typed = as_typed(campaign, topics=[topics["news"].pk, topics["events"].pk])
    typed.update({"items-1-post": walk.pk, "items-1-position": 0, "items-0-DELETE": "on"})

    html = client.post(preview_url(campaign), typed).json()["html"]

    assert "Charity walk" in html and "Clinic opens in Leeds" not in html


def test_a_new_campaign_is_previewed_before_it_is_saved(client, editor, topics):
    post = PostFactory(topic=topics["news"], title="Clinic opens in Leeds")
    typed = {"subject": "First", "intro": "Welcome", "greeting": "", "topics": [topics["news"].pk]}
    typed.update({"items-0-post": post.pk, "items-0-position": 1})

    answer = client.post(preview_url(), typed).json()

    assert "Clinic opens in Leeds" in answer["html"] and "Dear" not in answer["html"]
    assert not Campaign.objects.exists()


def test_the_preview_counts_the_audience_of_the_form_as_typed(client, editor, campaign, topics):
    SubscriberFactory(active=True, topics=[topics["news"]])
    SubscriberFactory(active=True, topics=[topics["events"]])
    SubscriberFactory(active=True, topics=[topics["events"]], digest_only=True)
    news_and_events = [topics["news"].pk, topics["events"].pk]

    answer = client.post(preview_url(), as_typed(campaign, topics=news_and_events)).json()

    # The campaign saved has News only; as typed it has Events too, with no post for Events.
    assert answer["audience"] == (
        "This goes to 1 person (1 of the 2 in these topics gets nothing from its posts)."
    )
    event = PostFactory(topic=topics["events"], title="Charity walk")
    typed = as_typed(campaign, topics=news_and_events, **{"items-1-post": event.pk})
    assert client.post(preview_url(campaign), typed).json()["audience"] == "This goes to 2 people."


def test_the_preview_says_so_when_nothing_is_for_the_topics(client, editor, campaign, topics):
    answer = client.post(preview_url(campaign), as_typed(campaign, topics=[])).json()
    assert answer["html"] == "" and answer["empty"].startswith("Tick a topic")


def test_markup_in_the_intro_is_sanitised_in_the_preview(client, editor, campaign):
    intro = 'Hi<script>alert(1)</script> <img src="x" onerror="alert(2)"> [a](javascript:alert(3))'
    html = client.post(preview_url(campaign), as_typed(campaign, intro=intro)).json()["html"]
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"topics": ["news"]}, "topics"),
        ({"topics": [999_999]}, "topics"),
        ({"items-0-post": "1; DROP TABLE"}, "posts"),
        ({"items-0-post": "999999"}, "posts"),
        ({"items-0-position": "-1"}, "posts"),
        ({"intro": "x" * (MAX_MARKDOWN + 1)}, "intro"),
        ({"intro": "x" * 70_000}, "__all__"),  # over DATA_UPLOAD_MAX_MEMORY_SIZE
        ({f"items-{i}-post": "" for i in range(1100)}, "__all__"),  # too many fields
        ({"greeting": "Dear {name},"}, "greeting"),
        ({"subject": "s" * 201}, "subject"),
    ],
)
def test_hostile_preview_input_is_a_400_with_a_reason(client, editor, campaign, changes, field):
    response = client.post(preview_url(campaign), as_typed(campaign, **changes))
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_the_preview_needs_a_post_with_a_csrf_token(editor, campaign):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(editor)
    assert browser.post(preview_url(campaign), as_typed(campaign)).status_code == 403
    assert browser.get(preview_url(campaign)).status_code == 405


def test_the_preview_is_for_those_who_may_change_the_campaign(client, campaign):
    client.force_login(staff_member("subscriber manager"))
    assert client.post(preview_url(campaign), as_typed(campaign)).status_code == 403
    assert client.post(preview_url(), as_typed(campaign)).status_code == 403
    # A scheduled campaign is frozen: nobody changes it, so nobody previews changes to it.
    client.force_login(staff_member("sender"))
    scheduling.campaign_schedule(campaign=campaign)
    assert client.post(preview_url(campaign), as_typed(campaign)).status_code == 403


# --- The greeting ------------------------------------------------------------------------------


def test_an_intro_that_greets_too_is_warned_about_in_the_preview_and_refused_on_save(
    client, editor, campaign
):
    typed = as_typed(campaign, intro="Dear friends, what a year it has been.")
    answer = client.post(preview_url(campaign), typed).json()
    assert answer["warnings"] == [
        "The email already opens with the greeting “Dear {first_name},”: start the intro "
        "without one, or clear the greeting."
    ]

    change = reverse("admin:newsletter_campaign_change", args=[campaign.pk])
    form = {**typed, "slug": campaign.slug, "items-TOTAL_FORMS": 1, "items-INITIAL_FORMS": 1}
    form.update({"variants-TOTAL_FORMS": 0, "variants-INITIAL_FORMS": 0})
    form.update({"items-0-id": campaign.items.get().pk, "items-0-campaign": campaign.pk})
    response = client.post(change, form)
    assert response.status_code == 200
    assert "start the intro without one, or clear the greeting" in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).intro == campaign.intro

    # With the greeting cleared, the intro's own greeting is the only one.
    response = client.post(change, {**form, "greeting": ""})
    assert response.status_code == 302
    saved = Campaign.objects.get(pk=campaign.pk)
    assert (saved.greeting, saved.intro) == ("", "Dear friends, what a year it has been.")


def test_the_greeting_is_frozen_when_scheduled(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(greeting="Hello {first_name}!")
    campaign.refresh_from_db()
    scheduling.campaign_schedule(campaign=campaign)
    Campaign.objects.filter(pk=campaign.pk).update(greeting="Changed {first_name}")
    campaign.refresh_from_db()

    body = render_body(campaign, frozenset({"news"}))
    message = rendering.personalise(body, SubscriberFactory.build(pk=1, first_name="Sam"))

    assert campaign.snapshot.greeting == "Hello {first_name}!"
    assert "Hello Sam!" in message.html and "Hello Sam!" in message.text
    assert "Changed" not in message.html


def test_an_empty_greeting_greets_nobody(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(greeting="")
    campaign.refresh_from_db()
    body = render_body(campaign, frozenset({"news"}))
    message = rendering.personalise(body, SubscriberFactory.build(pk=1, first_name="Sam"))
    assert "Sam" not in message.html and "Sam" not in message.text


def test_a_reader_without_a_name_is_greeted_as_friend(campaign):
    body = render_body(campaign, frozenset({"news"}))
    message = rendering.personalise(body, SubscriberFactory.build(pk=1, first_name=""))
    assert "Dear friend," in message.html and "Dear friend," in message.text


# --- Posts -------------------------------------------------------------------------------------


def png(name="lead.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, picture(1600, 900, color="navy"), "image/png")


def uploaded(client, alt: str) -> dict:
    response = client.post(reverse("admin:image-upload"), {"file": png(), "alt": alt})
    assert response.status_code == 201
    return response.json()


def post_form(topics, **changes) -> dict:
    data = {
        "kind": "news",
        "title": "Clinic opens in Leeds",
        "slug": "clinic-opens-in-leeds",
        "topic": topics["news"].pk,
        "status": "published",
        "summary": "Shorter waits from December.",
        "body": "",
        "timezone": "Europe/London",
        "references-TOTAL_FORMS": 0,
        "references-INITIAL_FORMS": 0,
        "engagement-TOTAL_FORMS": 0,
        "engagement-INITIAL_FORMS": 0,
    }
    return {**data, **changes}


def test_a_post_is_previewed_as_an_email_shows_it_with_its_image(client, editor, topics):
    image = uploaded(client, "The new clinic's waiting room")
    summary = f"Shorter waits.\n\n{image['markdown']}\n\n<img src=x onerror=alert(1)>"

    response = client.post(
        reverse("admin:post-live-preview-add"), post_form(topics, summary=summary)
    )

    html = response.json()["html"]
    assert f'src="{image["url"]}"' in html
    assert 'alt="The new clinic\'s waiting room"' in html
    assert "onerror" not in html
    assert "Clinic opens in Leeds" in html
    assert not Post.objects.exists()


def test_a_post_preview_without_a_topic_yet_says_what_is_missing(client, editor, topics):
    response = client.post(reverse("admin:post-live-preview-add"), post_form(topics, topic=""))
    assert response.json()["empty"] == "Choose a topic to see the post in an email."


def test_an_existing_post_is_previewed_as_edited_for_those_who_may_change_posts(client, topics):
    post = PostFactory(topic=topics["education"], kind=Post.Kind.EDUCATION, title="ALS or BFS?")
    url = reverse("admin:post-live-preview", args=[post.pk])
    typed = post_form(topics, kind="education", title="ALS or BFS? Updated", slug=post.slug)
    client.force_login(staff_member("subscriber manager"))
    assert client.post(url, typed).status_code == 403
    client.force_login(staff_member("editor"))
    assert "ALS or BFS? Updated" in client.post(url, typed).json()["html"]
    assert Post.objects.get(pk=post.pk).title == "ALS or BFS?"


def test_a_huge_post_body_is_a_400(client, editor, topics):
    typed = post_form(topics, body="x" * (MAX_MARKDOWN + 1))
    assert client.post(reverse("admin:post-live-preview-add"), typed).status_code == 400


def test_an_uploaded_image_is_chosen_as_a_posts_lead_image(client, editor, topics):
    uploaded(client, "Volunteers by the river")
    image = Image.objects.get()

    response = client.post(
        reverse("admin:newsletter_post_add"), post_form(topics, lead_image=image.pk)
    )

    assert response.status_code == 302
    post = Post.objects.get()
    assert post.image_url == f"https://engage.example.org{image.file.url}"
    assert post.image_alt == "Volunteers by the river"


def test_the_post_form_marks_the_event_fields_for_the_kind_switch(client, editor):
    page = client.get(reverse("admin:newsletter_post_add")).content.decode()
    assert "event-fields" in page
    assert "vendor/easymde/easymde.min.js" in page and "admin/engage-editor.js" in page
    assert "data-live-preview" in page


# --- What goes out -----------------------------------------------------------------------------


def test_the_sent_email_has_the_absolute_image_address_and_the_edited_greeting_once(
    client, editor, topics, sink, django_capture_on_commit_callbacks
):
    lead = uploaded(client, "Volunteers by the river")
    inline = uploaded(client, "A map of the route")
    response = client.post(
        reverse("admin:newsletter_post_add"),
        post_form(
            topics,
            lead_image=lead["id"],
            summary=f"Join us on the walk.\n\n{inline['markdown']}",
        ),
    )
    assert response.status_code == 302
    post = Post.objects.get()
    campaign = CampaignFactory(
        subject="Walk with us",
        intro="A short note this month.",
        greeting="Hello {first_name}, thank you",
        topics=[topics["news"]],
        posts=[post],
    )
    news = [topics["news"]]
    SubscriberFactory(email="sam@example.org", first_name="Sam", active=True, topics=news)

    scheduling.campaign_schedule(campaign=campaign)
    transition(campaign, Campaign.Status.SENDING)
    with django_capture_on_commit_callbacks(execute=True):
        delivery.prepare(campaign.pk)

    assert Delivery.objects.get(campaign=campaign).status == Delivery.Status.SENT
    [received] = sink.wait_for(1)
    assert received.rcpt_tos == ["sam@example.org"]
    message = received.message
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    for image in (lead, inline):
        assert image["url"].startswith("https://engage.example.org/media/images/")
        assert html.count(f'src="{image["url"]}"') == 1
    assert html.count("Hello Sam, thank you") == 1 and "Dear" not in html
    assert text.count("Hello Sam, thank you") == 1 and "Dear" not in text
