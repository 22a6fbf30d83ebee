"""The everyday admin pages (subscriber search, a campaign's progress, its report, an article and
its references) fit a laptop (1280 px) and a phone (375 px): nothing sticks out past the right edge
of the window, so nothing is cut off or needs sideways scrolling of the whole page. Screenshots in
test-artifacts/."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from newsletter.campaigns.states import transition
from newsletter.models import Campaign, Delivery, Reference
from tests.browser import violations
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]

WIDTHS = {"laptop": (1280, 800), "phone": (375, 740)}

# What sticks out past the window's right edge, or past a box that hides or scrolls what
# overflows it (a table column hidden in a scroller is cut off too). The off-screen skip link and
# the collapsed navigation are meant to be out of sight. A Markdown editor's CodeMirror hides its
# own scrollbars and input on purpose (a negative margin, an off-screen textarea): not counted.
OVERFLOW = """(width) => {
  const out = [];
  const root = document.documentElement;
  if (root.scrollWidth > width) out.push(`page ${root.scrollWidth}px`);
  for (const el of document.querySelectorAll('#content *')) {
    if (el.closest('.CodeMirror')) continue;
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    let right = width;
    for (let p = el.parentElement; p && p !== root; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') {
        right = Math.min(right, p.getBoundingClientRect().right);
        break;
      }
    }
    if (box.right > right + 1) {
      const name = `${el.tagName.toLowerCase()}#${el.id}.${el.className}`;
      out.push(`${name} ends at ${Math.round(box.right)} > ${Math.round(right)}`);
    }
  }
  return out.slice(0, 8).join(" | ");
}"""


@pytest.fixture
def staff_page(live_server, page, settings):
    settings.SITE_URL = live_server.url
    get_user_model().objects.create_superuser("boss", "boss@example.org", "a long passphrase")
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Site administration").wait_for()
    return page


@pytest.fixture
def everyday(topics):
    """Subscribers with long addresses and names, a campaign sending and one sent with results."""
    news, events = topics["news"], topics["events"]
    readers = [
        SubscriberFactory(
            active=True,
            email=f"a.rather.long.address.number.{i}@a-charity-supporters-domain.example.org",
            first_name="Maximiliana-Josephine",
            topics=[news, events],
        )
        for i in range(12)
    ]
    post = PostFactory(topic=news, title="A clinic opens in Leeds, with shorter waits for everyone")

    def campaign(subject, *steps):
        made = CampaignFactory(subject=subject, topics=[news, events], posts=[post])
        for step in steps:
            transition(made, step)
        return made

    Status = Campaign.Status
    sending = campaign(
        "This week: the clinic, the walk and your questions", Status.SCHEDULED, Status.SENDING
    )
    sent = campaign("Last week: research news and a thank you", Status.SCHEDULED, Status.SENDING)
    now = timezone.now()
    Campaign.objects.filter(pk=sending.pk).update(started_at=now)
    for i, reader in enumerate(readers):
        Delivery.objects.create(
            campaign=sending,
            subscriber=reader,
            status=Delivery.Status.SENT if i < 5 else Delivery.Status.QUEUED,
            sent_at=now if i < 5 else None,
        )
        Delivery.objects.create(
            campaign=sent,
            subscriber=reader,
            status=Delivery.Status.SENT,
            sent_at=now,
            opened_at=now if i % 2 else None,
            clicked_at=now if i % 3 == 0 else None,
        )
    Campaign.objects.filter(pk=sent.pk).update(
        status=Status.SENT, started_at=now, finished_at=now, recipients_count=12, sent_count=12
    )
    article = PostFactory(
        topic=topics["education"], kind="education", title="ALS or benign fasciculations?"
    )
    for position in (1, 2):
        Reference.objects.create(
            post=article,
            position=position,
            title="Benign fasciculation syndrome: a long-term follow-up of 121 patients",
            publisher="Journal of Neurology, Neurosurgery and Psychiatry",
            url="https://jnnp.bmj.com/content/some/very/long/path/to/the/article-121-patients",
            year=2023,
        )
    return {"sending": sending, "sent": sent, "article": article}


def pages(everyday) -> dict[str, str]:
    return {
        "subscriber search": "/admin/newsletter/subscriber/?q=long.address",
        "campaign progress": f"/admin/newsletter/campaign/{everyday['sending'].pk}/change/",
        "campaign report": f"/admin/newsletter/campaignreport/{everyday['sent'].pk}/change/",
        "article and its references": f"/admin/newsletter/post/{everyday['article'].pk}/change/",
    }


@pytest.mark.parametrize("device", WIDTHS)
def test_the_everyday_admin_pages_fit_the_window(
    device,
    staff_page,
    everyday,
    live_server,
    screenshot,
):
    width, height = WIDTHS[device]
    staff_page.set_viewport_size({"width": width, "height": height})
    for name, path in pages(everyday).items():
        staff_page.goto(live_server.url + path)
        screenshot(staff_page, f"{name} at {width} px")
        assert staff_page.evaluate(OVERFLOW, width) == "", f"{name} at {width} px"


def test_the_everyday_admin_pages_have_no_serious_accessibility_violations(
    browser,
    staff_page,
    everyday,
    live_server,
):
    context = browser.new_context(bypass_csp=True, viewport={"width": 375, "height": 740})
    context.add_cookies(staff_page.context.cookies())
    scan = context.new_page()
    for name, path in pages(everyday).items():
        scan.goto(live_server.url + path)
        assert violations(scan) == [], name
    context.close()
