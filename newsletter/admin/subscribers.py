"""Admin for subscribers, topics and the suppression list: an operator's console."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from newsletter.admin import imports
from newsletter.admin.readonly import ReadOnlyAdmin
from newsletter.models import Subscriber, Suppression, Topic
from newsletter.staff import audit, permissions
from newsletter.subscribers import csvfiles, signups, subscriptions
from newsletter.subscribers.addresses import clean_name, normalise_email, suppression_hash
from newsletter.subscribers.tokens import absolute_url
from newsletter.web import joinpage

CONSENT_FIELDS = (
    "consent_at",
    "consent_source",
    "consent_ip",
    "consent_user_agent",
    "consent_version",
    "lawful_basis",
    "lawful_basis_evidence",
)
TIMESTAMPS = (
    "created_at",
    "updated_at",
    "confirmation_sent_at",
    "confirmed_at",
    "unsubscribed_at",
    "suppressed_at",
)


class SubscriberForm(forms.ModelForm):
    class Meta:
        model = Subscriber
        fields = ("email", "first_name", "topics", "allow_tracking")

    def clean_email(self):
        return normalise_email(self.cleaned_data["email"])

    def clean_first_name(self):
        return clean_name(self.cleaned_data["first_name"])


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    form = SubscriberForm
    list_display = ("email", "first_name", "status", "topic_list", "created_at", "confirmed_at")
    list_filter = ("status", "topics", ("created_at", admin.DateFieldListFilter))
    search_fields = ("email", "first_name")
    readonly_fields = ("status", *TIMESTAMPS, "soft_bounces", *CONSENT_FIELDS)
    filter_horizontal = ("topics",)
    list_per_page = 100
    show_full_result_count = False  # a COUNT(*) per page is slow on a big list; counts are above
    actions = ["export_csv", "resend_confirmation", "unsubscribe_selected"]
    fieldsets = (
        (None, {"fields": ("email", "first_name", "status", "topics", "allow_tracking")}),
        ("History", {"fields": (*TIMESTAMPS, "soft_bounces")}),
        ("Consent record", {"fields": CONSENT_FIELDS}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("topics")

    @admin.display(description="topics")
    def topic_list(self, obj):
        return ", ".join(topic.name for topic in obj.topics.all())

    def changelist_view(self, request, extra_context=None):
        counts = dict(
            Subscriber.objects.order_by().values_list("status").annotate(total=Count("id"))
        )
        extra_context = {
            **(extra_context or {}),
            "status_counts": [
                (label, value, counts.get(value, 0)) for value, label in Subscriber.Status.choices
            ],
            "embed_url": absolute_url(reverse("join-embed")),
            "form_snippet": joinpage.form_snippet(absolute_url(reverse("join-embed"))),
        }
        return super().changelist_view(request, extra_context=extra_context)

    def get_urls(self):
        return [*imports.urls(self), *super().get_urls()]

    def save_model(self, request, obj, form, change):
        if not change:
            # Added by staff: the person still confirms by email before they are mailed.
            obj.consent_at = timezone.now()
            obj.consent_source = f"admin:{request.user.get_username()}"
        super().save_model(request, obj, form, change)

    # Deleting a person is erasing them: the suppression hash stays, so they are never re-imported.
    def delete_model(self, request, obj):
        self._erase(request, obj.pk)

    def delete_queryset(self, request, queryset):
        for subscriber_id in queryset.values_list("pk", flat=True):
            self._erase(request, subscriber_id)

    def _erase(self, request, subscriber_id: int) -> None:
        if subscriptions.erase(subscriber_id=subscriber_id):
            audit.record(request.user, "erase", f"subscriber #{subscriber_id}", request=request)

    def has_export_permission(self, request) -> bool:
        """For actions declared with permissions=["export"]: the addresses leave the system."""
        return request.user.has_perm(permissions.EXPORT_SUBSCRIBERS)

    @admin.action(description="Export selected subscribers as CSV", permissions=["export"])
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
        count = csvfiles.write_csv(queryset, response)
        audit.record(request.user, "export", f"{count} subscribers", request=request)
        return response

    @admin.action(
        description="Resend the confirmation email (pending only)", permissions=["change"]
    )
    def resend_confirmation(self, request, queryset):
        pending = queryset.filter(status=Subscriber.Status.PENDING)
        count = 0
        for subscriber_id in pending.values_list("pk", flat=True):
            signups.queue_confirmation(subscriber_id=subscriber_id)
            count += 1
        self.message_user(
            request,
            f"Queued the confirmation email for {count} pending subscriber(s). An address that "
            "had one recently is skipped until the resend interval has passed.",
            messages.SUCCESS,
        )

    @admin.action(description="Unsubscribe selected subscribers", permissions=["change"])
    def unsubscribe_selected(self, request, queryset):
        changed = sum(
            subscriptions.unsubscribe(subscriber_id=subscriber_id)
            for subscriber_id in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Unsubscribed {changed} subscriber(s).", messages.SUCCESS)


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position", "subscriber_count")
    list_editable = ("position",)
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name", "slug")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(subscriber_total=Count("subscribers"))

    @admin.display(description="subscribers", ordering="subscriber_total")
    def subscriber_count(self, obj):
        return obj.subscriber_total


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdmin):
    """Read-only: rows come from bounces, complaints, unsubscribes by mail and erasures
    (newsletter.subscribers.policy.suppress), never from typing."""

    list_display = ("email_hash", "reason", "created_at")
    list_filter = ("reason",)
    search_fields = ("email_hash",)

    def get_search_results(self, request, queryset, search_term):
        # Staff search by the address; only its hash is stored.
        if "@" in search_term:
            try:
                search_term = suppression_hash(search_term)
            except ValidationError:
                return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)
