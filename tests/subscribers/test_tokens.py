import pytest
from django.urls import reverse

from newsletter.subscribers import tokens


@pytest.mark.parametrize(
    ("purpose", "make_url"),
    [
        ("confirm", tokens.confirm_url),
        ("preferences", tokens.preferences_url),
        ("unsubscribe", tokens.unsubscribe_url),
    ],
)
def test_links_are_the_site_url_and_the_route_reverse_gives(purpose, make_url, settings):
    settings.SITE_URL = "https://news.example.org"
    url = make_url(42)
    path = url.removeprefix("https://news.example.org")
    token = path.strip("/").rsplit("/", 1)[-1]
    assert path == reverse(purpose, args=[token])
    assert tokens.read_token(purpose, token) == 42


def test_a_token_made_for_one_purpose_is_refused_for_another():
    with pytest.raises(tokens.BadToken):
        tokens.read_token("unsubscribe", tokens.make_token("preferences", 42))
