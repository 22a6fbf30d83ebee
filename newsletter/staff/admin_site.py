"""Django's admin with Engage's site: staff sign in with a second factor
(newsletter.staff.two_factor); every list answers a bad filter value with a 400
(newsletter.staff.lookups); the index puts the engineers' models under "System"
(newsletter.staff.admin_index).

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

    def register(self, model_or_iterable, admin_class=None, **options):
        from newsletter.staff.lookups import with_refused_lookups

        admin_class = with_refused_lookups(admin_class or admin.ModelAdmin)
        super().register(model_or_iterable, admin_class, **options)

    def autocomplete_view(self, request):
        from newsletter.staff.lookups import autocomplete_refusing_bad_terms

        return autocomplete_refusing_bad_terms(super().autocomplete_view)(request)

    def get_app_list(self, request, app_label=None):
        from newsletter.staff.admin_index import grouped

        app_list = super().get_app_list(request, app_label)
        return app_list if app_label else grouped(app_list)

    def has_permission(self, request):
        from newsletter.staff.two_factor import verified

        return super().has_permission(request) and verified(request)
