from importlib import import_module

import pytest
from django.core.cache import cache

from engage.celery import app as celery_app
from newsletter.models import ConsentWording, Topic
from newsletter.web import joinpage
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
