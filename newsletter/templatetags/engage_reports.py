"""Template tags for the admin: the subscriber growth chart on the index page."""

from django import template
from django.utils import timezone

from newsletter.campaigns import charts, reports
from newsletter.staff import permissions

register = template.Library()

WEEKS = 12


@register.inclusion_tag("admin/newsletter/_subscriber_growth.html", takes_context=True)
def subscriber_growth_chart(context):
    request = context.get("request")
    if request is None or not request.user.has_perm(permissions.VIEW_SUBSCRIBER):
        return {"hidden": True}
    growth = reports.subscriber_growth(weeks=WEEKS)
    labels = [timezone.localtime(week).strftime("%d %b") for week in growth.buckets]
    return {
        "chart": charts.line_chart(labels, growth.series, title="Subscribers per week"),
        "weeks": WEEKS,
        "totals": {name: sum(values) for name, values in growth.series.items()},
    }
