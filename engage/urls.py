from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from newsletter.api import urls as api_v1
from newsletter.views import (
    brand,
    health,
    media,
    metrics,
    posts,
    public,
    rsvp,
    signup,
    staff,
    tracking,
)

urlpatterns = [
    path("join/", signup.join, name="join"),
    path("join/embed/", signup.join_embed, name="join-embed"),
    path("api/subscribe/", signup.api_subscribe, name="api-subscribe"),
    path("api/v1/", api_v1.urls),
    path("confirm/<str:token>/", signup.confirm, name="confirm"),
    path("preferences/<str:token>/", signup.preferences, name="preferences"),
    path("unsubscribe/<str:token>/", signup.unsubscribe, name="unsubscribe"),
    path("come-back/<str:token>/", signup.way_back, name="way-back"),
    path("archive/", public.archive_index, name="archive"),
    path("archive/<slug:slug>/", public.archive_detail, name="archive-detail"),
    path("archive/posts/<slug:slug>/", posts.post_page, name="post-page"),
    path("events/<slug:slug>.ics", public.event_ics, name="event-ics"),
    path("events/<slug:slug>/rsvp/", rsvp.event_page, name="event-rsvp"),
    path("rsvp/<str:token>/", rsvp.answer, name="rsvp"),
    path("involved/<str:token>/", rsvp.count_me_in, name="interest"),
    path("t/c/<str:token>/", tracking.click, name="track-click"),
    path("t/o/<str:token>.gif", tracking.open_pixel, name="track-open"),
    path("webhooks/anymail/", include("newsletter.inbound.webhook_urls")),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("brand/logo/<str:digest>", brand.logo, name="brand-logo"),
    path("admin/login/", staff.admin_login),
    path("admin/", admin.site.urls),
]
if settings.SERVE_MEDIA:
    # Uploaded images (see settings.MEDIA_ROOT): mail clients fetch them long after sending.
    prefix = settings.MEDIA_URL.strip("/")
    urlpatterns.append(re_path(rf"^{prefix}/(?P<path>.+)$", media.serve_media, name="media"))
