"""Enter never does something the reader did not ask for (issue 25).

A keyboard or a switch that sends Enter presses it on every control of every public form, in
Chromium, with JavaScript and without it: no reader is unsubscribed or erased, no signup happens
without consent, and no page says "saved" when nothing was. Then a reader joins using only Tab,
typing and Enter."""

import pytest
from django.core import mail

from newsletter.models import SignupRequest, Subscriber
from newsletter.subscribers import tokens
from tests.factories import SubscriberFactory, event_taking_rsvps, subscriber_table

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(600),
]

CONTROLS = "input:not([type=hidden]):not([type=submit]):not([tabindex='-1']), select, textarea"


@pytest.fixture(params=[True, False], ids=["with JavaScript", "without JavaScript"])
def tab(request, browser):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=request.param
    )
    context.set_default_timeout(15_000)
    yield context.new_page(), request.param
    context.close()


@pytest.fixture
def forms(topics, live_server, settings):
    settings.SITE_URL = live_server.url
    reader = SubscriberFactory(active=True, topics=list(topics.values()))
    event = event_taking_rsvps(topics["events"], title="Coffee morning")
    return {
        "reader": reader,
        "pages": {
            "join": "/join/",
            "embedded join": "/join/embed/",
            "confirmation": tokens.confirm_url(SubscriberFactory().pk),
            "preferences": tokens.preferences_url(reader.pk),
            "unsubscribe": tokens.unsubscribe_url(reader.pk),
            "event RSVP": f"/events/{event.slug}/rsvp/",
            "answer": tokens.post_link("rsvp", reader.pk, event.pk),
        },
    }


def _url(live_server, path: str) -> str:
    return path if path.startswith("http") else live_server.url + path


@pytest.mark.parametrize(
    "name",
    ["join", "embedded join", "confirmation", "preferences", "unsubscribe", "event RSVP", "answer"],
)
def test_enter_on_any_control_unsubscribes_erases_and_claims_nothing(name, forms, tab, live_server):
    tab, javascript = tab
    url = _url(live_server, forms["pages"][name])
    tab.goto(url)
    count = tab.locator(CONTROLS).count()
    pressed = 0
    for index in range(count):
        tab.goto(url)
        tab.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        control = tab.locator(CONTROLS).nth(index)
        if not control.is_visible():
            continue
        kind = control.get_attribute("type") or control.evaluate("e => e.tagName.toLowerCase()")
        was_checked = control.is_checked() if kind in ("checkbox", "radio") else None
        before = subscriber_table()
        signups_before = SignupRequest.objects.count()
        what = f"{name}: Enter on control {index} ({kind} {control.get_attribute('name')})"

        control.focus()
        control.press("Enter")
        tab.wait_for_load_state("load")
        pressed += 1

        reader = Subscriber.objects.filter(pk=forms["reader"].pk).first()
        assert reader is not None, f"{what} erased the reader"
        assert reader.status == Subscriber.Status.ACTIVE, f"{what} unsubscribed the reader"
        assert SignupRequest.objects.count() == signups_before, f"{what} signed someone up"
        assert mail.outbox == [], f"{what} sent an email"
        body = tab.locator("body").inner_text()
        if "were saved" in body:
            assert subscriber_table() != before, f"{what} said 'saved' and saved nothing"
        if was_checked is not None and javascript:
            # With JavaScript, Enter ticks a box as Space does, and sends nothing.
            assert tab.url == url, f"{what} left the page"
            still = tab.locator(CONTROLS).nth(index)
            if kind == "checkbox":
                assert still.is_checked() != was_checked, f"{what} did not tick the box"
            else:
                assert still.is_checked(), f"{what} did not choose the option"
    print(f"{name}: Enter pressed on {pressed} of {count} controls")


def test_a_reader_joins_with_tab_typing_and_enter_alone(forms, browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.goto(f"{live_server.url}/join/")
    presses = 0

    def tab_to(selector: str) -> None:
        nonlocal presses
        for _ in range(40):
            tab.keyboard.press("Tab")
            presses += 1
            if tab.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("input[name=email]")
    tab.keyboard.type("switch.user@example.org")
    tab_to("input[name=consent]")
    tab.keyboard.press("Enter")
    presses += 1
    assert tab.locator("input[name=consent]").is_checked()
    tab_to("button[type=submit]")
    tab.keyboard.press("Enter")
    presses += 1
    tab.get_by_role("heading", name="Check your inbox").wait_for()
    context.close()

    assert SignupRequest.objects.filter(email="switch.user@example.org").count() == 1
    print(f"joined with {presses} key presses (Tab and Enter) and the address typed")
