"""Settings for bench/load.py: Engage's own, plus a bare view to compare against."""

from engage.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# Production runs `collectstatic`, which the manifest storage needs; the bench serves pages
# without collecting, so `{% static %}` resolves plainly here (the same work per request).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
