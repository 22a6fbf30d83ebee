"""Django's admin with Engage's site: staff sign in with a second factor
(newsletter.staff.two_factor).

In its own module because INSTALLED_APPS imports it before any model can be."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class EngageAdminConfig(AdminConfig):
    default_site = "newsletter.staff.admin_site.EngageAdminSite"


class EngageAdminSite(admin.AdminSite):
    login_template = "admin/engage_login.html"

    def __init__(self, *args, **kwargs):
        from newsletter.staff.two_factor import StaffLoginForm

        super().__init__(*args, **kwargs)
        self.login_form = StaffLoginForm

    def has_permission(self, request):
        from newsletter.staff.two_factor import verified

        return super().has_permission(request) and verified(request)
