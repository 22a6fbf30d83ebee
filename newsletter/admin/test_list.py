"""The test list: addresses outside the staff that may get campaign tests. Superusers keep it (no
role is granted its permissions), so a sender cannot widen who a test reaches."""

from django.contrib import admin

from newsletter.models import ApprovedTestAddress


@admin.register(ApprovedTestAddress)
class TestListAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "added_by", "created_at"]
    search_fields = ["email", "name"]
    fields = ["email", "name"]

    def save_model(self, request, obj, form, change):
        obj.email = obj.email.strip().lower()
        if not change:
            obj.added_by = request.user
        super().save_model(request, obj, form, change)
