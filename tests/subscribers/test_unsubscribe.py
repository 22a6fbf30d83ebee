import pytest
from django.test import Client

from newsletter.models import Subscriber
from newsletter.subscribers import subscriptions
from newsletter.subscribers.tokens import make_token
from tests.factories import SubscriberFactory, subscriber_table


@pytest.fixture
def one_click():
    """A mail client doing RFC 8058 one-click: no cookie, no CSRF token, no login."""
    return Client(enforce_csrf_checks=True)


def url(subscriber_id, purpose="unsubscribe"):
    return f"/unsubscribe/{make_token(purpose, subscriber_id)}/"


def test_get_shows_one_button_and_unsubscribes_nobody(client, subscriber):
    before = subscriber_table()

    response = client.get(url(subscriber.pk))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<button") == 1
    assert '<form method="post">' in html
    assert subscriber_table() == before


def test_one_click_post_unsubscribes_with_200_and_no_redirect(one_click, subscriber):
    response = one_click.post(url(subscriber.pk), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert subscriber.unsubscribed_at is not None


def test_a_second_post_is_a_harmless_success(one_click, subscriber):
    one_click.post(url(subscriber.pk))
    before = subscriber_table()

    response = one_click.post(url(subscriber.pk))

    assert response.status_code == 200
    assert subscriber_table() == before


def test_a_pending_subscriber_can_unsubscribe_too(one_click, topics):
    pending = SubscriberFactory()

    one_click.post(url(pending.pk))

    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.UNSUBSCRIBED


def test_an_erased_subscribers_old_link_still_answers_success(one_click, subscriber):
    link = url(subscriber.pk)
    subscriptions.erase(subscriber_id=subscriber.pk)

    response = one_click.post(link)

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "token",
    ["forged", "1:xyz", make_token("unsubscribe", 1)[:-2] + "zz"],
    ids=["forged", "malformed", "altered signature"],
)
def test_a_forged_token_gets_a_400_page(one_click, subscriber, method, token):
    before = subscriber_table()

    response = getattr(one_click, method)(f"/unsubscribe/{token}/")

    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()
    assert subscriber_table() == before


@pytest.mark.parametrize("purpose", ["confirm", "preferences"])
def test_a_token_for_another_purpose_gets_400(one_click, subscriber, purpose):
    response = one_click.post(url(subscriber.pk, purpose))

    assert response.status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_the_page_is_not_cached(client, subscriber):
    response = client.get(url(subscriber.pk))

    assert "no-cache" in response.headers["Cache-Control"]
