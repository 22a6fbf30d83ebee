"""Campaign reports in admin: a read-only page per campaign with numbers and charts, and a CSV
of its results per delivery. Staff need the "view campaign report" permission."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone

from newsletter.admin.readonly import ReadOnlyAdmin
from newsletter.campaigns import acceptance, charts, reports
from newsletter.models import CampaignReport, Delivery

SUMMARY_LABELS = [
    ("recipients", "Recipients"),
    ("sent", "Sent"),
    ("delivered", "Delivered (ESP confirmed)"),
    ("opened", "Opened"),
    ("clicked", "Clicked"),
    ("bounced", "Bounced"),
    ("complained", "Complained"),
    ("unsubscribed", "Unsubscribed"),
    ("failed", "Failed"),
    ("refused", "Refused for a sending problem"),
]


@admin.register(CampaignReport)
class CampaignReportAdmin(ReadOnlyAdmin):
    list_display = ["subject", "status", "started_at", "sent", "opened", "clicked", "bounced"]
    list_filter = ["status"]
    search_fields = ["subject"]
    date_hierarchy = "started_at"
    ordering = ["-started_at"]

    def get_queryset(self, request):
        # A series step's campaign sends for as long as its series runs: it is reported under
        # its series (admin: Series, per step), not listed here as a campaign forever "sending".
        return (
            self._started(request)
            .filter(series_step=None)
            .annotate(
                n_sent=Count("deliveries", filter=Q(deliveries__sent_at__isnull=False)),
                n_opened=Count("deliveries", filter=Q(deliveries__opened_at__isnull=False)),
                n_clicked=Count("deliveries", filter=Q(deliveries__clicked_at__isnull=False)),
                n_bounced=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.BOUNCED)),
            )
        )

    @admin.display(ordering="n_sent")
    def sent(self, obj):
        return obj.n_sent

    @admin.display(ordering="n_opened")
    def opened(self, obj):
        return obj.n_opened

    @admin.display(ordering="n_clicked")
    def clicked(self, obj):
        return obj.n_clicked

    @admin.display(ordering="n_bounced")
    def bounced(self, obj):
        return obj.n_bounced

    def get_urls(self):
        csv_view = self.admin_site.admin_view(self.csv_view)
        return [
            path("<int:object_id>/csv/", csv_view, name="newsletter_campaignreport_csv"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        campaign = self._campaign(request, object_id)
        summary = reports.campaign_summary(campaign_id=campaign.pk)
        timeline = reports.campaign_timeline(campaign_id=campaign.pk)
        links = reports.campaign_link_clicks(campaign_id=campaign.pk)
        numbers = [(label, summary[key], _rate(key, summary)) for key, label in SUMMARY_LABELS]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Report: {campaign.subject}",
            "subtitle": None,
            "opts": self.opts,
            "original": campaign,
            "campaign": campaign,
            "numbers": numbers,
            "warnings": reports.campaign_warnings(summary),
            "funnel_chart": charts.bar_chart(
                [(label, summary[key]) for key, label in SUMMARY_LABELS[1:8]],
                title=f"Results of “{campaign.subject}”",
                keys=[key for key, _ in SUMMARY_LABELS[1:8]],
            ),
            "timeline": timeline,
            "timeline_rows": _rows(timeline),
            "timeline_chart": charts.line_chart(
                [_label(b, timeline.unit) for b in timeline.buckets],
                timeline.series,
                title=f"“{campaign.subject}” per {timeline.unit}",
            )
            if timeline.buckets
            else None,
            "links": links,
            "links_chart": charts.bar_chart(
                [(_short(link.post_title or link.url), link.readers) for link in links[:10]],
                title="Readers who clicked, per link",
            )
            if links
            else None,
            "post_answers": reports.campaign_post_answers(campaign_id=campaign.pk),
            "after_acceptance": acceptance.after_acceptance(campaign_id=campaign.pk),
            "subject_test": reports.campaign_subject_test(campaign=campaign),
            "csv_url": reverse("admin:newsletter_campaignreport_csv", args=[campaign.pk]),
            "tracking": {"opens": campaign.track_opens, "clicks": campaign.track_clicks},
        }
        return TemplateResponse(request, "admin/newsletter/campaignreport/report.html", context)

    def csv_view(self, request, object_id):
        campaign = self._campaign(request, object_id)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = (
            f'attachment; filename="campaign-{campaign.pk}-results-{stamp}.csv"'
        )
        reports.write_campaign_csv(campaign_id=campaign.pk, out=response)
        return response

    def _started(self, request):
        return super().get_queryset(request).filter(started_at__isnull=False)

    def _campaign(self, request, object_id) -> CampaignReport:
        if not self.has_view_permission(request):
            raise PermissionDenied
        # A series step's report too: its series' page links to it.
        return get_object_or_404(self._started(request), pk=object_id)


def _rate(key: str, summary: dict) -> str:
    """Each outcome as a share of the messages sent."""
    if key in ("recipients", "sent") or not summary["sent"]:
        return ""
    digits = 2 if key == "complained" else 1  # its limit is 0.3%
    return f"{100 * summary[key] / summary['sent']:.{digits}f}%"


def _label(moment, unit: str) -> str:
    local = timezone.localtime(moment)
    if unit == "hour":
        return local.strftime("%d %b %H:00")
    return formats.date_format(local, "j M")


def _rows(series: reports.Series) -> list[tuple[str, list[int]]]:
    names = list(series.series)
    return [
        (_label(bucket, series.unit), [series.series[name][i] for name in names])
        for i, bucket in enumerate(series.buckets)
        if any(series.series[name][i] for name in names)
    ]


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
