from email import message_from_bytes, policy

import pytest

from newsletter.campaigns.snapshot import render_body
from newsletter.content.posts import render_markdown
from newsletter.mail import rendering
from newsletter.mail.messages import campaign_message, new_message_id
from newsletter.models import Post, Reference
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

ADDRESS = "Engage Health Charity, 1 Example Street, London EC1A 1AA, UK"


@pytest.fixture
def campaign(topics):
    news = PostFactory(topic=topics["news"], title="New clinic opens", kind=Post.Kind.NEWS)
    event = PostFactory(
        topic=topics["events"],
        title="Walk for research",
        kind=Post.Kind.EVENT,
        starts_at="2026-12-05T10:00:00Z",
        location="Regent's Park",
    )
    article = PostFactory(
        topic=topics["education"], title="Twitching muscles", kind=Post.Kind.EDUCATION
    )
    Reference.objects.create(post=article, position=1, title="A study", year=2020)
    return CampaignFactory(
        subject="November news",
        slug="november-news",
        topics=[topics["news"], topics["events"], topics["education"]],
        posts=[news, event, article],
    )


def build(campaign, subscriber):
    slugs = frozenset(subscriber.topics.values_list("slug", flat=True))
    body = render_body(campaign, slugs)
    personalised = rendering.personalise(body, subscriber)
    message = campaign_message(campaign, subscriber, personalised, message_id=new_message_id())
    return message_from_bytes(message.message().as_bytes(), policy=policy.default)


def parts(parsed):
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    html = parsed.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_a_campaign_message_is_multipart_alternative_with_a_text_and_an_html_part(campaign, topics):
    subscriber = SubscriberFactory(active=True, topics=[topics["news"]])
    parsed = build(campaign, subscriber)
    assert parsed.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in parsed.iter_parts()]
    assert types == ["text/plain", "text/html"]
    text, html = parts(parsed)
    assert "New clinic opens" in text and "<" not in text.split("New clinic opens")[0]
    assert "<h3>" in html or "<h3 " in html


def test_it_carries_the_list_headers_a_unique_message_id_and_a_date(campaign, topics, settings):
    subscriber = SubscriberFactory(active=True, topics=[topics["news"]])
    first, second = build(campaign, subscriber), build(campaign, subscriber)
    unsubscribe = rendering.personalise(
        render_body(campaign, frozenset({"news"})), subscriber
    ).unsubscribe_url
    assert unsubscribe.startswith(settings.SITE_URL + "/unsubscribe/")
    assert first["List-Unsubscribe"] == (
        f"<{unsubscribe}>, <mailto:{settings.UNSUBSCRIBE_MAILTO}?subject=unsubscribe>"
    )
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first["List-Id"] == f'"{settings.ORGANISATION_NAME}" <{settings.LIST_ID}>'
    assert first["Precedence"] == "bulk"
    assert first["Date"]
    assert first["Message-ID"].startswith("<") and first["Message-ID"].endswith(
        "@engage.example.org>"
    )
    assert first["Message-ID"] != second["Message-ID"]
    assert first["Subject"] == "November news"


def test_both_parts_have_the_footer_address_the_personal_links_and_view_in_browser(
    campaign, topics
):
    subscriber = SubscriberFactory(active=True, first_name="Ada", topics=[topics["news"]])
    text, html = parts(build(campaign, subscriber))
    personalised = rendering.personalise(render_body(campaign, frozenset({"news"})), subscriber)
    archive = "http://127.0.0.1:8000/archive/november-news/"
    for part in (text, html):
        assert ADDRESS in part
        assert archive in part
        assert personalised.unsubscribe_url in part
        assert personalised.preferences_url in part
        assert "Dear Ada," in part
        assert "%%ENGAGE" not in part
    assert "View this email in your browser" in html
    assert 'lang="en"' in html


def test_a_subscriber_sees_only_the_sections_of_their_topics(campaign, topics):
    subscriber = SubscriberFactory(active=True, topics=[topics["news"], topics["education"]])
    text, html = parts(build(campaign, subscriber))
    assert "New clinic opens" in html and "Twitching muscles" in html
    assert "Walk for research" not in html and "Walk for research" not in text
    assert html.index("New clinic opens") < html.index("Twitching muscles")
    assert "A study" in html and "A study" in text  # the education post's references


def test_a_subscriber_of_events_alone_gets_only_the_events_section(campaign, topics):
    subscriber = SubscriberFactory(active=True, topics=[topics["events"]])
    text, html = parts(build(campaign, subscriber))
    assert "Walk for research" in html and "Walk for research" in text
    assert "Regent&#x27;s Park" in html or "Regent's Park" in html
    assert "http://127.0.0.1:8000/events/" in html  # add to calendar
    for other in ("New clinic opens", "Twitching muscles", ">News<", ">Education<"):
        assert other not in html
    assert "NEWS\n" not in text and "EVENTS\n" in text


def test_sections_follow_the_campaign_order_and_group_posts_by_topic(topics):
    first = PostFactory(topic=topics["events"], title="First event")
    news = PostFactory(topic=topics["news"], title="Only news")
    second = PostFactory(topic=topics["events"], title="Second event")
    campaign = CampaignFactory(topics=list(topics.values()), posts=[first, news, second])
    body = render_body(campaign, frozenset(topics))
    html = body.html
    assert html.index("First event") < html.index("Second event") < html.index("Only news")
    assert body.topic_slugs == {"events", "news"}


def test_a_topic_outside_the_campaign_audience_shows_no_section(topics):
    post = PostFactory(topic=topics["news"])
    campaign = CampaignFactory(topics=[topics["events"]], posts=[post])
    assert render_body(campaign, frozenset({"news", "events"})) is None


def test_a_campaign_with_nothing_for_the_subscriber_renders_none(campaign):
    assert render_body(campaign, frozenset({"get-involved"})) is None
    assert render_body(campaign, frozenset()) is None


def test_one_body_serves_every_recipient_with_their_own_values(campaign, topics):
    body = render_body(campaign, frozenset({"news"}))
    ada = SubscriberFactory(active=True, first_name="Ada")
    bob = SubscriberFactory(active=True, first_name="")
    for_ada, for_bob = rendering.personalise(body, ada), rendering.personalise(body, bob)
    assert "Dear Ada," in for_ada.text and "Dear friend," in for_bob.text
    assert for_ada.unsubscribe_url != for_bob.unsubscribe_url
    assert for_bob.unsubscribe_url in for_bob.html and for_ada.unsubscribe_url not in for_bob.html


def test_a_name_with_markup_is_escaped_in_the_html_part(campaign, topics):
    subscriber = SubscriberFactory(
        active=True, first_name='<img src=x onerror="alert(1)">', topics=[topics["news"]]
    )
    text, html = parts(build(campaign, subscriber))
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert '<img src=x onerror="alert(1)">' in text  # text is not HTML: shown as typed


def test_a_name_with_line_breaks_cannot_inject_a_header(campaign, topics):
    subscriber = SubscriberFactory(
        active=True,
        email="victim@example.org",
        first_name="Eve\r\nBcc: everyone@example.com\r\nX-Evil: 1",
        topics=[topics["news"]],
    )
    parsed = build(campaign, subscriber)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert [address.addr_spec for address in parsed["To"].addresses] == ["victim@example.org"]
    assert "Eve" in parsed["To"].addresses[0].display_name


def test_a_name_with_quotes_and_commas_stays_one_recipient(campaign, topics):
    subscriber = SubscriberFactory(
        active=True,
        email="ann@example.org",
        first_name='Ann "the boss", <x@evil.example>',
        topics=[topics["news"]],
    )
    parsed = build(campaign, subscriber)
    assert [address.addr_spec for address in parsed["To"].addresses] == ["ann@example.org"]


def test_a_ten_post_digest_stays_under_gmail_clipping_size(topics):
    long_body = "A paragraph of careful explanation about symptoms and care. " * 400
    posts = [
        PostFactory(
            topic=topics[slug],
            kind=Post.Kind.EVENT if slug == "events" else Post.Kind.NEWS,
            starts_at="2026-12-05T10:00:00Z" if slug == "events" else None,
            title=f"A fairly long headline for post number {i} of this digest",
            summary="",
            body=long_body,
            image_url=f"https://engage.example.org/images/{i}.jpg",
            image_alt="People walking in a park",
        )
        for i, slug in enumerate(["news", "events", "education", "get-involved"] * 3)
    ][:10]
    campaign = CampaignFactory(topics=list(topics.values()), posts=posts)
    subscriber = SubscriberFactory(active=True, first_name="Ada", topics=list(topics.values()))
    parsed = build(campaign, subscriber)
    text, html = parts(parsed)
    assert all(post.title in html for post in posts)
    assert len(html.encode()) < 102 * 1024
    assert len(parsed.as_bytes()) < 102 * 1024


def test_images_keep_their_alt_text(topics):
    post = PostFactory(
        topic=topics["news"], image_url="https://x.example/a.jpg", image_alt="A smiling nurse"
    )
    campaign = CampaignFactory(topics=[topics["news"]], posts=[post])
    html = render_body(campaign, frozenset({"news"})).html
    assert 'alt="A smiling nurse"' in html


def test_post_bodies_are_rendered_from_markdown_and_sanitised():
    html = render_markdown(
        "**Bold** [site](https://example.org) <script>alert(1)</script>"
        '<a href="javascript:alert(1)" onclick="x()">bad</a>'
    )
    assert "<strong>Bold</strong>" in html
    assert '<a href="https://example.org" rel="noopener">site</a>' in html
    assert "<script" not in html and "onclick" not in html and "javascript:" not in html


def test_the_preheader_is_hidden_at_the_top_of_the_html(campaign):
    html = render_body(campaign, frozenset({"news"})).html
    assert "What happened this month" in html
    assert html.index("What happened this month") < html.index("November news</h1>")


def test_a_name_stored_before_the_name_rules_cannot_add_a_recipient(topics):
    # Python folds a long quoted display name without its quotes; the comma would then split To.
    name = "victim@example.org, " + "x" * 80
    subscriber = SubscriberFactory(topics=[topics["news"]], active=True, first_name=name)
    campaign = CampaignFactory(posts=[PostFactory(topic=topics["news"])], topics=[topics["news"]])
    body = render_body(campaign, frozenset({"news"}))
    message = campaign_message(
        campaign, subscriber, rendering.personalise(body, subscriber), message_id="<m@x>"
    ).message()

    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert [a.addr_spec for a in parsed["To"].addresses] == [subscriber.email]


def test_a_subject_with_a_line_break_is_sent_on_one_line(topics):
    subscriber = SubscriberFactory(topics=[topics["news"]], active=True)
    campaign = CampaignFactory(
        subject="Spring news\r\nBcc: everyone@example.org",
        posts=[PostFactory(topic=topics["news"])],
        topics=[topics["news"]],
    )
    body = render_body(campaign, frozenset({"news"}))
    message = campaign_message(
        campaign, subscriber, rendering.personalise(body, subscriber), message_id="<m@x>"
    ).message()

    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Spring news Bcc: everyone@example.org"
    assert parsed["Bcc"] is None
