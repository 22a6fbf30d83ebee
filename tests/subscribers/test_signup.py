from html import unescape

import pytest
from django.core import mail
from django.test import Client

from newsletter.models import SignupRequest, Subscriber
from newsletter.web.forms import consent_wording
from tests.factories import SubscriberFactory, subscriber_table


def form_data(**overrides):
    data = {
        "email": "alice@example.org",
        "first_name": "Alice",
        "topics": ["news", "events", "education", "get-involved"],
        "consent": "on",
        "website": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def join(client, django_capture_on_commit_callbacks):
    """POST the join form and run what it queued (the worker's part), as a worker would."""

    def post(path="/join/", **overrides):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, form_data(**overrides))

    return post


def test_the_join_page_has_a_labelled_form_with_every_topic_ticked(client, topics):
    response = client.get("/join/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_email">Email address' in html
    assert '<label for="id_first_name">First name (optional)' in html
    for slug in topics:
        assert f'value="{slug}"' in html
    # The four topics; consent and tracking are left for the person to tick.
    assert html.count("checked") == 4
    assert '<input type="checkbox" name="allow_tracking" id="id_allow_tracking">' in html
    assert consent_wording() in html
    assert 'name="website"' in html  # the honeypot
    # One script, the site's own, and only to fill in the browser's time zone (local-time sending).
    assert html.count("<script") == 1 and '<script src="/static/join-zone.js" defer>' in html


def test_a_signup_shows_check_your_inbox_and_sends_the_confirmation(join, topics, settings):
    response = join(topics=["news", "events"])

    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.PENDING
    assert sorted(t.slug for t in subscriber.topics.all()) == ["events", "news"]
    assert subscriber.first_name == "Alice"
    assert subscriber.consent_source == "/join/"
    assert subscriber.consent_version == settings.CONSENT_VERSION
    assert len(mail.outbox) == 1


def test_a_known_address_gets_the_same_page(client, topics):
    fresh = client.post("/join/", form_data(email="new@example.org"))
    SubscriberFactory(email="old@example.org", active=True)

    again = client.post("/join/", form_data(email="old@example.org"))

    assert (again.status_code, again.content) == (fresh.status_code, fresh.content)


def test_addresses_are_normalised_so_case_and_idn_do_not_make_duplicates(join, topics):
    join(email="  Anna@BÜCHER.example ")
    join(email="anna@xn--bcher-kva.example")

    assert list(Subscriber.objects.values_list("email", flat=True)) == [
        "anna@xn--bcher-kva.example"
    ]


def _without_send_time(table):
    return [{**row, "confirmation_sent_at": None} for row in table]


def test_an_unsubscribed_address_stays_unsubscribed_until_its_owner_confirms(join, topics):
    SubscriberFactory(email="back@example.org", unsubscribed=True, topics=[topics["news"]])
    before = subscriber_table()

    join(email="back@example.org", first_name="Changed")

    (message,) = mail.outbox
    assert message.to == ["back@example.org"]
    assert _without_send_time(subscriber_table()) == _without_send_time(before)
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED


BAD_FORMS = {
    "malformed email": ({"email": "alice-at-example.org"}, "email"),
    "overlong email": ({"email": "a" * 250 + "@example.org"}, "email"),
    "CR/LF in the email": ({"email": "alice@example.org\r\nBcc: x@example.org"}, "email"),
    "CR/LF in the name": ({"first_name": "Alice\r\nBcc: x@example.org"}, "first_name"),
    "overlong name": ({"first_name": "n" * 101}, "first_name"),
    "unknown topic": ({"topics": ["news", "gossip"]}, "topics"),
    "CR/LF in a topic": ({"topics": ["news\r\n"]}, "topics"),
    "no topic": ({"topics": None}, "topics"),
    "missing consent": ({"consent": None}, "consent"),
}


@pytest.mark.parametrize("overrides, field", BAD_FORMS.values(), ids=BAD_FORMS.keys())
def test_bad_input_shows_the_error_next_to_its_field_and_changes_nothing(
    client, topics, overrides, field
):
    SubscriberFactory(email="alice@example.org", active=True, topics=[topics["news"]])
    before = subscriber_table()

    response = client.post("/join/", form_data(**overrides))

    assert response.status_code == 400
    reason = response.context["form"].errors[field][0]
    html = unescape(response.content.decode())
    assert f'<ul class="errorlist" id="id_{field}_error"><li>{reason}</li>' in html
    assert subscriber_table() == before
    assert SignupRequest.objects.count() == 0
    assert mail.outbox == []


def test_an_oversize_form_is_refused_and_changes_nothing(client, topics):
    before = subscriber_table()

    response = client.post("/join/", form_data(first_name="x" * (70 * 1024)))

    assert response.status_code == 400
    assert subscriber_table() == before


def test_a_form_body_that_is_not_utf8_gets_field_errors_not_a_500(client, topics):
    body = b"email=z%F6e@example.org&topics=news&consent=on"

    response = client.post("/join/", body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert "email" in response.context["form"].errors
    assert SignupRequest.objects.count() == Subscriber.objects.count() == 0


def test_the_rate_limit_page_inside_the_embed_keeps_the_embed_layout(client, topics, settings):
    settings.SIGNUP_RATE = "1/m"
    client.post("/join/embed/", form_data(email="a@example.org"))

    response = client.post("/join/embed/", form_data(email="b@example.org"))

    assert response.status_code == 429
    assert 'class="embed"' in response.content.decode()


def test_a_filled_honeypot_gets_the_success_page_and_nothing_happens(
    client, topics, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/join/", form_data(website="http://spam.example"))

    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    assert SignupRequest.objects.count() == Subscriber.objects.count() == 0
    assert mail.outbox == []


def test_a_flood_from_one_ip_gets_429_with_a_message(join, topics, settings):
    settings.SIGNUP_RATE = "3/m"
    statuses = [join(email=f"p{i}@example.org").status_code for i in range(5)]

    assert statuses == [200, 200, 200, 429, 429]
    response = join(email="late@example.org")
    assert "Too many signups" in response.content.decode()
    assert Subscriber.objects.count() == 3


def test_the_form_and_the_api_share_one_rate_limit(client, topics, settings):
    settings.SIGNUP_RATE = "2/m"
    client.post("/join/", form_data(email="a@example.org"))
    client.post(
        "/api/subscribe/",
        {"email": "b@example.org", "consent": True},
        content_type="application/json",
    )

    assert client.post("/join/", form_data(email="c@example.org")).status_code == 429


def test_repeated_signups_of_one_address_send_one_email_per_interval(join, topics):
    for _ in range(4):
        join()

    assert len(mail.outbox) == 1


def test_the_embed_may_be_framed_by_the_configured_origins(client, topics, settings):
    settings.EMBED_ALLOWED_ORIGINS = ["'self'", "https://www.charity.example"]

    response = client.get("/join/embed/")

    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    assert (
        "frame-ancestors 'self' https://www.charity.example"
        in (response.headers["Content-Security-Policy"])
    )
    assert client.get("/join/").headers["X-Frame-Options"] == "DENY"


def test_the_embed_accepts_a_signup_without_a_csrf_cookie(topics):
    framed = Client(enforce_csrf_checks=True)

    response = framed.post("/join/embed/", form_data())

    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    assert SignupRequest.objects.get().source == "/join/embed/"


def test_the_join_page_needs_its_csrf_token(topics):
    response = Client(enforce_csrf_checks=True).post("/join/", form_data())

    assert response.status_code == 403
    assert SignupRequest.objects.count() == 0
