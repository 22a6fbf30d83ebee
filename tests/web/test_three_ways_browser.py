"""Every public flow completed three ways by real key presses in Chromium (issue 25):
- the keyboard alone: Tab and Shift+Tab to move, Space to tick, Enter to press;
- a switch that only moves (Tab) and activates (Enter);
- a switch that only moves (Tab) and activates with Space.

The flows: join, confirm, preferences, fewer emails instead of unsubscribing, leaving (with a
reason) and coming back, an event RSVP, and "count me in". Each starts where a reader arrives (the
page, or the link in the email) and ends on the page that tells them it is done, with the stored
row checked. Each counts its presses (typing an address is counted apart: an on-screen keyboard
types as a keyboard does), prints them, records them as the test's `presses` property, and stays
under a bound per flow, so a change that adds many presses to a flow fails here."""

import re

import pytest
from django.core import mail

from newsletter.models import Interest, Post, PostEngagement, Rsvp, SignupRequest, Subscriber
from newsletter.subscribers import signups, tokens
from tests.factories import PostFactory, SubscriberFactory, event_taking_rsvps

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]

ADDRESS = "three.ways@example.org"


class Reader:
    """Presses keys the way `way` allows, counting them."""

    def __init__(self, tab, way: str):
        self.tab, self.way = tab, way
        self.presses = self.typed = 0

    def key(self, name: str) -> None:
        self.tab.keyboard.press(name)
        self.presses += 1

    def move_to(self, selector: str) -> None:
        """Tab until `selector` has the focus; the keyboard goes back with Shift+Tab when it is
        behind the focus. A switch only goes forward."""
        backwards = self.way == "keyboard" and self.tab.evaluate(
            """(s) => {
                const target = document.querySelector(s), here = document.activeElement;
                return here !== document.body &&
                    !!(target.compareDocumentPosition(here) & Node.DOCUMENT_POSITION_FOLLOWING);
            }""",
            selector,
        )
        for _ in range(80):
            self.key("Shift+Tab" if backwards else "Tab")
            if self.tab.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{self.way}: the focus never reached {selector}")

    def tick(self) -> None:
        """Tick the focused checkbox."""
        self.key("Enter" if self.way == "Tab and Enter" else "Space")

    def press(self) -> None:
        """Press the focused button."""
        self.key("Space" if self.way == "Tab and Space" else "Enter")

    def type(self, text: str) -> None:
        self.tab.keyboard.type(text)
        self.typed += len(text)

    def sees(self, text: str) -> None:
        self.tab.get_by_text(text, exact=False).first.wait_for()


def join(reader, rows, url):
    reader.tab.goto(url("/join/"))
    reader.move_to("input[name=email]")
    reader.type(ADDRESS)
    reader.move_to("input[name=consent]")
    reader.tick()
    reader.move_to("form button[type=submit]")
    reader.press()
    reader.sees("Check your inbox")
    assert SignupRequest.objects.filter(email=ADDRESS).exists()


def confirm(reader, rows, url):
    signups.signup_request(email=ADDRESS, source="three ways")
    [email] = mail.outbox
    reader.tab.goto(re.search(r"http\S+/confirm/\S+/", email.body).group(0))
    reader.move_to("main button[type=submit]")
    reader.press()
    reader.sees("Thank you, you are subscribed")
    assert Subscriber.objects.get(email=ADDRESS).status == Subscriber.Status.ACTIVE


def preferences(reader, rows, url):
    reader.tab.goto(tokens.preferences_url(rows["reader"].pk))
    reader.move_to("input[value=plain_text_only]")
    reader.tick()
    reader.move_to("button[value=save]")
    reader.press()
    reader.sees("Your preferences were saved.")
    assert Subscriber.objects.get(pk=rows["reader"].pk).plain_text_only


def fewer_emails(reader, rows, url):
    reader.tab.goto(tokens.unsubscribe_url(rows["reader"].pk))
    reader.move_to("button[value=digest-only]")
    reader.press()
    reader.sees("you will get our digests only")
    stored = Subscriber.objects.get(pk=rows["reader"].pk)
    assert (stored.status, stored.digest_only) == ("active", True)


def leave_and_come_back(reader, rows, url):
    reader.tab.goto(tokens.unsubscribe_url(rows["reader"].pk))
    reader.move_to("main form:not([action]) button")
    reader.press()
    reader.sees("You are unsubscribed")
    reader.move_to("form:has(input[name=reason][value=too-many]) button")
    reader.press()
    reader.sees("Thank you for telling us.")
    assert Subscriber.objects.get(pk=rows["reader"].pk).leaving_reason == "too-many"
    reader.move_to("button[value=resubscribe]")
    reader.press()
    reader.sees("Welcome back")
    assert Subscriber.objects.get(pk=rows["reader"].pk).status == Subscriber.Status.ACTIVE


def rsvp(reader, rows, url):
    reader.tab.goto(tokens.post_link("rsvp", rows["reader"].pk, rows["event"].pk))
    reader.move_to("main form button[type=submit]")
    reader.press()
    reader.sees("See you there")
    assert Rsvp.objects.get(subscriber=rows["reader"], post=rows["event"]).answer == "yes"


def get_involved(reader, rows, url):
    reader.tab.goto(tokens.post_link("interest", rows["reader"].pk, rows["involved"].pk))
    reader.move_to("main form button[type=submit]")
    reader.press()
    reader.sees("Thank you")
    assert Interest.objects.filter(subscriber=rows["reader"], post=rows["involved"]).exists()


# The most presses each flow may take, whichever way. Measured on 2026-12-07 (the same each way,
# as every flow goes forward through the page): join 14, confirm 4, preferences 17, fewer emails 5,
# leave and come back 11, RSVP 4, get involved 4. A few presses of room; many more fail.
FLOWS = {
    "join": (join, 18),
    "confirm": (confirm, 6),
    "preferences": (preferences, 22),
    "fewer emails": (fewer_emails, 8),
    "leave and come back": (leave_and_come_back, 15),
    "RSVP": (rsvp, 6),
    "get involved": (get_involved, 6),
}
WAYS = ["keyboard", "Tab and Enter", "Tab and Space"]


@pytest.fixture
def rows(topics, live_server, settings):
    settings.SITE_URL = live_server.url
    involved = PostFactory(topic=topics["get-involved"], kind=Post.Kind.GET_INVOLVED, title="Help")
    PostEngagement.objects.create(post=involved, count_me_in=True, contact_email="x@example.org")
    return {
        "reader": SubscriberFactory(active=True, topics=list(topics.values())),
        "event": event_taking_rsvps(topics["events"], title="Coffee morning"),
        "involved": involved,
    }


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("flow", FLOWS)
def test_each_flow_by_key_presses_alone(flow, way, rows, browser, live_server, record_property):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    reader = Reader(context.new_page(), way)
    walk, most = FLOWS[flow]

    walk(reader, rows, lambda path: live_server.url + path)
    context.close()

    print(f"{flow}, {way}: {reader.presses} presses (and {reader.typed} characters typed)")
    record_property("presses", reader.presses)
    assert reader.presses <= most
