"""/api/v1/: the API's own routes, each POST answering its Idempotency-Key."""

from django.http import JsonResponse
from django.urls import re_path

from newsletter.api.idempotency import idempotent
from newsletter.api.v1 import api

urlpatterns, app_name, namespace = api.urls
for pattern in urlpatterns:
    pattern.callback = idempotent(pattern.callback)


def _no_such_route(request, rest):
    body = {"error": {"code": "not_found", "message": "No such API route.", "fields": {}}}
    return JsonResponse(body, status=404)


# Anything else under /api/v1/ answers in the API's error shape, not with the site's HTML page.
urlpatterns = [*urlpatterns, re_path(r"^(?P<rest>.*)$", _no_such_route)]

# For path("api/v1/", urls): the namespace the reference page reverses its schema in.
urls = (urlpatterns, app_name, namespace)
