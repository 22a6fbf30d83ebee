"""Admin for RSVPs and "count me in": per event, the counts, the attendee list with search, a CSV
export and a check-in list for the door (one big button per person, works on a phone); per way to
get involved, the interested readers and their CSV.

Names and addresses are subscriber data: every page that shows them asks for
SUBSCRIBER_DATA_PERMISSION, whatever else the staff member may do. The counts alone need only
the permission to view posts.
"""

from django.contrib import admin
from django.db.models import Count, F, Q
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from newsletter.admin.readonly import ReadOnlyAdmin
from newsletter.engagement import attendance, interest, rsvp
from newsletter.models import EventAttendance, InvolvementInterest, Post, PostEngagement
from newsletter.staff import permissions

SUBSCRIBER_DATA_PERMISSION = permissions.VIEW_SUBSCRIBER
COUNTS_PERMISSION = permissions.VIEW_POST


class PostEngagementInline(admin.StackedInline):
    """On the post's page: whether it takes RSVPs (events) or "count me in" (get involved)."""

    model = PostEngagement
    max_num = 1
    can_delete = False
    fields = [
        "takes_rsvps",
        "capacity",
        "rsvp_deadline",
        "waitlist",
        "count_me_in",
        "contact_email",
    ]
    verbose_name_plural = "RSVPs and count me in"


class _EngagementListAdmin(ReadOnlyAdmin):
    """A list of posts with their answers; the page of one post is a custom view."""

    list_select_related = ["topic"]
    search_fields = ["title", "slug"]

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(COUNTS_PERMISSION)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def _post(self, request, object_id) -> Post:
        permissions.require(request, COUNTS_PERMISSION)
        return get_object_or_404(self.get_queryset(request), pk=object_id)

    def _page_context(self, request, post: Post, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.opts,
            "original": post,
            "post": post,
        }

    def _csv_response(self, name: str) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
        return response


@admin.register(EventAttendance)
class EventAttendanceAdmin(_EngagementListAdmin):
    list_display = ["title", "starts_at", "yes", "no", "waitlist", "places_left"]
    ordering = ["-starts_at"]

    def get_queryset(self, request):
        answered = {
            f"n_{answer}": Count("rsvps", filter=Q(rsvps__answer=answer))
            for answer in (rsvp.Answer.YES, rsvp.Answer.NO, rsvp.Answer.WAITLIST)
        }
        return (
            super()
            .get_queryset(request)
            .filter(kind=Post.Kind.EVENT, engagement__takes_rsvps=True)
            .annotate(capacity=F("engagement__capacity"), **answered)
        )

    @admin.display(description="yes", ordering="n_yes")
    def yes(self, obj):
        return obj.n_yes

    @admin.display(description="no", ordering="n_no")
    def no(self, obj):
        return obj.n_no

    @admin.display(description="waitlist", ordering="n_waitlist")
    def waitlist(self, obj):
        return obj.n_waitlist

    @admin.display(description="places left")
    def places_left(self, obj):
        return "no limit" if obj.capacity is None else max(0, obj.capacity - obj.n_yes)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/attendees.csv",
                view(self.csv_view),
                name="newsletter_eventattendance_csv",
            ),
            path(
                "<int:object_id>/check-in/",
                view(self.check_in_view),
                name="newsletter_eventattendance_checkin",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        post = self._post(request, object_id)
        may_see_people = request.user.has_perm(SUBSCRIBER_DATA_PERMISSION)
        search = request.GET.get("q", "").strip()
        context = {
            **self._page_context(request, post, f"Attendance: {post.title}"),
            "counts": rsvp.counts(post),
            "may_see_people": may_see_people,
            "search": search,
            "attendees": list(attendance.attendees(post, search)[:1000]) if may_see_people else [],
            "csv_url": reverse("admin:newsletter_eventattendance_csv", args=[post.pk]),
            "checkin_url": reverse("admin:newsletter_eventattendance_checkin", args=[post.pk]),
        }
        template = "admin/newsletter/eventattendance/attendance.html"
        return TemplateResponse(request, template, context)

    def csv_view(self, request, object_id):
        permissions.require(request, SUBSCRIBER_DATA_PERMISSION)
        post = self._post(request, object_id)
        response = self._csv_response(f"attendees-{post.slug}"[:80])
        attendance.write_attendees_csv(post, response, request.GET.get("q", "").strip())
        return response

    def check_in_view(self, request, object_id):
        permissions.require(request, SUBSCRIBER_DATA_PERMISSION)
        post = self._post(request, object_id)
        if request.method == "POST":
            return self._check_in(request, post)
        context = {
            **self._page_context(request, post, f"Check-in: {post.title}"),
            "attendees": attendance.attendees(post).filter(answer=rsvp.Answer.YES),
            "arrived": attendance.attendees(post).filter(checked_in_at__isnull=False).count(),
        }
        return TemplateResponse(request, "admin/newsletter/eventattendance/checkin.html", context)

    @staticmethod
    def _check_in(request, post):
        try:
            rsvp_id = int(request.POST.get("rsvp", ""))
        except ValueError:
            return HttpResponse("Choose a person to check in.", status=400)
        present = request.POST.get("present") == "1"
        if not post.rsvps.filter(pk=rsvp_id, answer=rsvp.Answer.YES).exists():
            return HttpResponse("That person has no place at this event.", status=400)
        attendance.check_in(rsvp_id=rsvp_id, present=present)
        url = reverse("admin:newsletter_eventattendance_checkin", args=[post.pk])
        return HttpResponseRedirect(f"{url}#rsvp-{rsvp_id}")


@admin.register(InvolvementInterest)
class InvolvementInterestAdmin(_EngagementListAdmin):
    list_display = ["title", "published_at", "interested"]
    ordering = ["-published_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(kind=Post.Kind.GET_INVOLVED, engagement__count_me_in=True)
            .annotate(n_interested=Count("interests"))
        )

    @admin.display(description="count me in", ordering="n_interested")
    def interested(self, obj):
        return obj.n_interested

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/interested.csv",
                view(self.csv_view),
                name="newsletter_involvementinterest_csv",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        post = self._post(request, object_id)
        may_see_people = request.user.has_perm(SUBSCRIBER_DATA_PERMISSION)
        search = request.GET.get("q", "").strip()
        context = {
            **self._page_context(request, post, f"Count me in: {post.title}"),
            "total": post.interests.count(),
            "may_see_people": may_see_people,
            "search": search,
            "interested": list(interest.interested(post, search)[:1000]) if may_see_people else [],
            "csv_url": reverse("admin:newsletter_involvementinterest_csv", args=[post.pk]),
        }
        return TemplateResponse(
            request, "admin/newsletter/involvementinterest/interested.html", context
        )

    def csv_view(self, request, object_id):
        permissions.require(request, SUBSCRIBER_DATA_PERMISSION)
        post = self._post(request, object_id)
        response = self._csv_response(f"count-me-in-{post.slug}"[:80])
        interest.write_interested_csv(post, response)
        return response
