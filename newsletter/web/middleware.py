"""A database outage answered as one: 503 with Retry-After, not a 500 that looks like a bug."""

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

logger = logging.getLogger(__name__)

# Long enough for a PostgreSQL restart or failover, short enough that a person tries again.
RETRY_AFTER_SECONDS = 30
MESSAGE = (
    "We cannot take your request just now: our database is briefly unavailable. "
    "Nothing was saved. Please try again in a minute."
)


class DatabaseUnavailableMiddleware:
    """Turns OperationalError/InterfaceError raised by a view into a 503: JSON for the API, a page
    otherwise. Any other error is left to Django (a 500 is still a bug to fix)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("Database unavailable for %s %s: %s", request.method, request.path, exception)
        if request.path.startswith("/api/"):
            response = JsonResponse({"error": MESSAGE}, status=503)
        elif request.path == reverse("join-embed"):
            # Shown inside the site's frame, like the form it replaces.
            response = render(
                request,
                "503.html",
                {"message": MESSAGE, "base_template": "newsletter/join_embed.html"},
                status=503,
            )
            response.xframe_options_exempt = True
            response._csp_config = {
                **settings.SECURE_CSP,
                "frame-ancestors": list(settings.EMBED_ALLOWED_ORIGINS),
            }
        else:
            response = render(request, "503.html", {"message": MESSAGE}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        add_never_cache_headers(response)  # a CDN in front of the embed must not keep it
        return response
