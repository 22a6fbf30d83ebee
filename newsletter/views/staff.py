from django.contrib import admin


def admin_login(request, extra_context=None):
    """The admin's own login; failed attempts are limited by django-axes (settings: AXES_*)."""
    return admin.site.login(request, extra_context)
