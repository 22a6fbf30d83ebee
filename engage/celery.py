import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engage.settings")

app = Celery("engage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.beat_init.connect
def refuse_the_demo_identity(**kwargs):
    from django.core.exceptions import ImproperlyConfigured

    from engage import identity

    try:
        identity.require()
    except ImproperlyConfigured as refusal:
        # Celery logs and carries on after an exception in a signal handler; it stops on exit.
        raise SystemExit(f"ImproperlyConfigured: {refusal}")
