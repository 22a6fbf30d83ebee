"""Hostile input on the RSVP and "count me in" pages: never a 500, and nothing stored unless the
request was a genuine answer (hypothesis, like tests/test_hostile_input.py)."""

from urllib.parse import quote

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from newsletter.models import Interest, Rsvp
from newsletter.subscribers import tokens
from tests.factories import SubscriberFactory, event_taking_rsvps
from tests.web.test_hostile_input import FUZZ, address, hostile_name, nasty_text, rolled_back

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet(settings):
    settings.RATELIMIT_ENABLE = False
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture
def event(topics):
    return event_taking_rsvps(topics["events"], slug="walk", capacity=5)


def answers() -> list[tuple]:
    return list(Rsvp.objects.values_list("post_id", "subscriber_id", "email", "answer")) + list(
        Interest.objects.values_list("post_id", "subscriber_id", "post_id", "post_id")
    )


@FUZZ
@given(
    text=st.one_of(nasty_text, st.text()),
    page=st.sampled_from(["rsvp", "involved"]),
    method=st.sampled_from(["get", "post", "put", "delete", "head", "options"]),
)
def test_any_text_as_a_token_is_a_clear_bad_link_and_stores_nothing(
    client, event, text, page, method
):
    with rolled_back():
        response = getattr(client, method)(f"/{page}/{quote(text, safe='')}/", {"answer": "yes"})
        assert response.status_code < 500
        assert answers() == []


@FUZZ
@given(
    reader=st.one_of(
        st.integers(),
        st.integers(min_value=2**62),
        nasty_text,
        st.sampled_from(["g", "g-1", "gx", "g99999999999999999999", "1:2", " 1", "١"]),
    ),
    post_id=st.integers(),
    purpose=st.sampled_from(["rsvp", "interest"]),
)
def test_a_genuinely_signed_token_for_no_reader_or_post_stores_nothing(
    client, event, reader, post_id, purpose
):
    assume(post_id != event.pk)
    with rolled_back():
        token = tokens.make_post_token(purpose, reader, post_id)
        page = "rsvp" if purpose == "rsvp" else "involved"
        response = client.post(f"/{page}/{quote(token, safe='')}/", {"answer": "yes"})
        assert 400 <= response.status_code < 500
        assert answers() == []


@FUZZ
@given(answer=st.one_of(nasty_text, st.lists(nasty_text, max_size=2)))
def test_a_bad_answer_is_refused_with_400(client, event, answer):
    assume(answer not in ("yes", "no", ["yes"], ["no"]))
    reader = SubscriberFactory(active=True)
    with rolled_back():
        token = tokens.make_post_token("rsvp", reader.pk, event.pk)
        response = client.post(f"/rsvp/{token}/", {"answer": answer})
        assert response.status_code == 400
        assert answers() == []


@FUZZ
@given(
    form=st.fixed_dictionaries(
        {},
        optional={
            "email": st.one_of(address, st.lists(address, max_size=2)),
            "first_name": hostile_name,
            "join": nasty_text,
            "website": st.sampled_from(["", "http://bot.example"]),
        },
    )
)
def test_the_event_page_form_never_fails_and_stores_at_most_an_unconfirmed_row(client, event, form):
    with rolled_back():
        response = client.post("/events/walk/rsvp/", form)
        assert response.status_code in (200, 400)
        stored = list(Rsvp.objects.values_list("answer", "subscriber_id"))
        if response.status_code == 400 or form.get("website"):
            assert stored == []
        else:
            assert stored == [(Rsvp.Answer.UNCONFIRMED, None)]
