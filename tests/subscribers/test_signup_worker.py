"""The whole signup path through a real Celery worker (Redis broker) and a real SMTP server."""

import re

import pytest

from newsletter.models import Subscriber


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_signup_is_confirmed_by_the_link_in_the_email_a_real_worker_sent(
    client, topics, celery_worker, sink, settings
):
    response = client.post(
        "/api/subscribe/",
        {"email": "Walker@Example.org", "first_name": "Wendy", "topics": ["news"], "consent": True},
        content_type="application/json",
    )
    assert response.status_code == 202

    (received,) = sink.wait_for(1)
    message = received.message
    assert received.rcpt_tos == ["walker@example.org"]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Wendy" in text
    link = re.search(r"(https?://\S+/confirm/\S+/)", text).group(1)
    assert f'href="{link}"' in html
    assert link.startswith(settings.SITE_URL)

    opened = client.get(link.removeprefix(settings.SITE_URL))  # what a mail scanner does too
    assert opened.status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    confirmed = client.post(link.removeprefix(settings.SITE_URL))

    assert confirmed.status_code == 200
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.confirmed_at is not None
    assert subscriber.confirmation_sent_at is not None
    assert len(sink.received) == 1
