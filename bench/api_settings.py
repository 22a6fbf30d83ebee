"""Settings for bench/api.py: Engage's own, plus a bare view serving the API's sync query."""

from engage.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
