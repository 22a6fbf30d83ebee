"""The brand's logo, served by Engage from the database (emails and pages link here)."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from newsletter.models import BrandLogo


@require_safe
def logo(request, digest):
    found = get_object_or_404(BrandLogo, digest=digest)
    response = HttpResponse(bytes(found.data), content_type=found.content_type)
    # Named by its content: it never changes.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    return response
