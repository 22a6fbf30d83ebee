"""Uploaded images (newsletter.content.images), served by Engage itself.

Django's static.serve answers from MEDIA_ROOT (safe_join keeps it inside, Last-Modified and
If-Modified-Since work). Every file there was re-encoded by Pillow under a random name that is
never reused, so a browser or a CDN may keep it for a year.
"""

from django.conf import settings
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe
from django.views.static import serve


@require_safe
@cache_control(public=True, max_age=365 * 24 * 3600, immutable=True)
def serve_media(request, path):
    return serve(request, path, document_root=settings.MEDIA_ROOT)
