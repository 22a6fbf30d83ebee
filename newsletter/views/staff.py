from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse
from django_ratelimit.core import is_ratelimited


def admin_login(request, extra_context=None):
    """The admin's own login, with failed-guess floods from one address answered 429."""
    if request.method == "POST" and is_ratelimited(
        request, group="admin-login", key="ip", rate=settings.ADMIN_LOGIN_RATE, increment=True
    ):
        return TemplateResponse(request, "admin/login_throttled.html", status=429)
    return admin.site.login(request, extra_context)
