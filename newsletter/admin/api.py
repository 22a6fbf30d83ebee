"""Admin for the API: keys and webhook endpoints, made by a superuser (each secret shown once),
and the webhook ledger with its replay action. Superusers only: a key or an endpoint reaches
every address its scope allows."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from newsletter.api import destinations, keys, webhooks
from newsletter.models import ApiKey, WebhookDelivery, WebhookEndpoint


class SuperuserOnly:
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request, *args):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.has_module_permission(request)


@admin.register(ApiKey)
class ApiKeyAdmin(SuperuserOnly, admin.ModelAdmin):
    list_display = ["name", "scope", "prefix", "revoked_at", "last_used_at", "last_used_ip"]
    list_filter = ["scope"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "last_used_at", "last_used_ip", "created_by", "created_at"]
    fields = ["name", "scope", "revoked_at", *readonly_fields]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        key, secret = keys.key_create(name=obj.name, scope=obj.scope, created_by=request.user)
        obj.pk, obj.prefix = key.pk, key.prefix
        self.message_user(
            request,
            f"The key for {key.name} is {secret} — copy it now: it is not shown again.",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} keys revoked.")


class EndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=WebhookEndpoint.EventType.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events", "scope", "is_active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            destinations.check(url)
        except destinations.Refused as refusal:
            raise forms.ValidationError(str(refusal))
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(SuperuserOnly, admin.ModelAdmin):
    form = EndpointForm
    list_display = ["name", "url", "scope", "is_active", "paused_at", "failing_since"]
    readonly_fields = ["paused_at", "paused_reason", "failing_since", "last_sequence"]
    actions = ["resume"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.secret = webhooks.new_secret()
            self.message_user(
                request,
                f"The signing secret of {obj.name} is {obj.secret} — copy it now: it is not "
                "shown again.",
                messages.WARNING,
            )
        super().save_model(request, obj, form, change)

    @admin.action(description="Resume the selected paused endpoints", permissions=["change"])
    def resume(self, request, queryset):
        count = sum(webhooks.resume(endpoint_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} endpoints resumed.")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(SuperuserOnly, admin.ModelAdmin):
    list_display = ["sequence", "endpoint", "event", "status", "attempts", "delivered_at"]
    list_filter = ["status", "endpoint"]
    list_select_related = ["endpoint", "event"]
    raw_id_fields = ["event"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request, *args):
        return False

    @admin.action(description="Replay (send again, in order)", permissions=["change"])
    def replay(self, request, queryset):
        count = webhooks.replay(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} deliveries queued again.")
