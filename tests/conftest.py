import os
import re
import uuid
from importlib import import_module
from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, sync_playwright

from engage.celery import app as celery_app
from newsletter.models import ConsentWording, Topic
from newsletter.web import joinpage
from tests.browser import ARTIFACTS, AXE, CHROMIUM, CHROMIUM_ARGS
from tests.factories import ROLES_AS_MIGRATED, SubscriberFactory, staff_member
from tests.support import SmtpSink, WorkerProcess

TOPIC_SLUGS = ["news", "events", "education", "get-involved"]
SEEDED_WORDING = import_module("newsletter.migrations.0021_data_protection_existing_rows").WORDING


@pytest.fixture(autouse=True)
def _isolated(request, settings):
    """Tasks run in-process unless a test asks for a real worker; every test starts with an empty
    cache (rate limits, throttles)."""
    eager = request.node.get_closest_marker("worker") is None
    # Tests sign staff in with force_login; tests/test_two_factor.py turns the second factor on.
    settings.ADMIN_REQUIRE_2FA = False
    celery_app.conf.task_always_eager = eager
    cache.clear()
    joinpage.render_afresh()  # this process's rendered join pages, made from another test's rows
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(scope="session", autouse=True)
def _roles_as_migrated(django_db_setup, django_db_blocker):
    """Read the staff roles the migrations seeded before any flush (tests.factories.role_group)."""
    from django.contrib.auth.models import Group

    with django_db_blocker.unblock():
        for group in Group.objects.prefetch_related("permissions"):
            ROLES_AS_MIGRATED[group.name] = [p.codename for p in group.permissions.all()]


@pytest.fixture
def topics(db):
    """The four standard topics and the consent wording the join form shows. Transactional tests
    flush the seeded rows, so make sure here."""
    for version, text in SEEDED_WORDING.items():
        ConsentWording.objects.get_or_create(version=version, defaults={"text": text})
    names = {
        "news": "News",
        "events": "Events",
        "education": "Education",
        "get-involved": "Get involved",
    }
    return {
        slug: Topic.objects.get_or_create(slug=slug, defaults={"name": names[slug], "position": i})[
            0
        ]
        for i, slug in enumerate(TOPIC_SLUGS)
    }


@pytest.fixture(scope="session")
def smtp_sink():
    """A real SMTP server on loopback (aiosmtpd) that tests read back."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def sink(smtp_sink, settings):
    """The SMTP sink, emptied, and this process's email pointed at it."""
    smtp_sink.reset()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": smtp_sink.port, "timeout": 10},
        }
    }
    yield smtp_sink
    smtp_sink.reset()


def _purge_broker():
    with celery_app.connection_for_write() as conn:
        celery_app.control.purge(connection=conn)


@pytest.fixture
def own_queue(settings):
    """A queue of the test's own, so that no other worker of the session (which sends elsewhere
    and at another rate) takes its tasks. The worker's environment for it."""
    queue = f"own-{uuid.uuid4().hex[:8]}"
    before = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    yield {"CELERY_QUEUE": queue}
    celery_app.conf.task_default_queue = before


@pytest.fixture
def celery_worker(django_db_setup, django_db_blocker, smtp_sink):
    """A real Celery worker process for the test, on the test database, sending to the sink.

    Tests that use it are marked `worker` and use `django_db(transaction=True)`, so that what they
    write is committed and visible to the worker. One per test, not per session: a worker left
    running would take later tests' tasks (at its own rate, on its own clock), and it would keep
    the content-type ids cached before a transactional test's flush re-created them."""
    with django_db_blocker.unblock():
        _purge_broker()
        worker = WorkerProcess(email_url=smtp_sink.url).start()
    yield worker
    worker.stop()


@pytest.fixture
def start_worker(django_db_setup, django_db_blocker, smtp_sink):
    """Start extra worker processes (which a test may kill); all are stopped at the end."""
    workers = []

    def start(**kwargs):
        kwargs.setdefault("email_url", smtp_sink.url)
        with django_db_blocker.unblock():
            worker = WorkerProcess(**kwargs).start()
        workers.append(worker)
        return worker

    with django_db_blocker.unblock():
        _purge_broker()
    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def site(live_server, settings, start_worker) -> str:
    """The live server's address, and a real worker: both write links to it. (Modules whose
    tests need no worker define a `site` of their own.)"""
    settings.SITE_URL = live_server.url
    start_worker(extra_env={"SITE_URL": live_server.url})
    return live_server.url


# --- The people tests act as ----------------------------------------------------------------
# Each role's fixture makes that staff member (in the role's group, as the migrations grant it)
# and signs them in on `client`. A test that means "anyone at all" says `superuser`.


@pytest.fixture
def subscriber(topics):
    """A reader who confirmed, on the News and Events topics."""
    return SubscriberFactory(
        email="reader@example.org",
        first_name="Rita",
        active=True,
        topics=[topics["news"], topics["events"]],
    )


@pytest.fixture
def editor(client):
    user = staff_member("editor", first_name="Ada")
    client.force_login(user)
    return user


@pytest.fixture
def sender(client):
    user = staff_member("sender")
    client.force_login(user)
    return user


@pytest.fixture
def subscriber_manager(client):
    user = staff_member("subscriber manager")
    client.force_login(user)
    return user


@pytest.fixture
def stranger(client, django_user_model):
    """A staff account in no group: may sign in to admin, and do nothing there."""
    user = django_user_model.objects.create_user(
        "stranger", "stranger@engage.example.org", is_staff=True
    )
    client.force_login(user)
    return user


@pytest.fixture
def superuser(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@engage.example.org", "pw")
    client.force_login(user)
    return user


# --- Headless Chromium (tests/browser.py has the helpers) -----------------------------------


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps an event loop in this thread, and Django then refuses ORM calls
    # from the test ("async context"). The test itself is synchronous, so the guard does not apply.
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    if saved is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture
def page(browser) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def screenshot(request):
    """screenshot(page, "what the step shows") → test-artifacts/<test>/<nn>-<what>.png"""
    folder = ARTIFACTS / re.sub(r"[^\w-]+", "-", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    taken = []

    def shoot(tab: Page, name: str, *, full_page: bool = True) -> Path:
        taken.append(name)
        slug = re.sub(r"[^\w-]+", "-", name.lower()).strip("-")
        path = folder / f"{len(taken):02d}-{slug}.png"
        tab.screenshot(path=path, full_page=full_page)
        return path

    return shoot


@pytest.fixture
def axe_page(browser):
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `make axe` (make test does it)")
    # The site's CSP rightly refuses inline scripts; axe is the test's, not the page's.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()
