"""A bad value in an admin list's address is the asker's mistake: a 400 that says so, never a 500.

A list filter, search or autocomplete term goes into SQL as typed. Some values only fail when the
query runs: a NUL byte (PostgreSQL text cannot hold one), a year past 9999, an integer past 64 bits,
"abc" for a duration. Django's changelist catches what fails while it builds the filter, not what
fails when the database answers; so every list and autocomplete of our admin site runs its query in
a savepoint here, and a value the database or Python refuses becomes a 400 page (a JSON 400 for an
autocomplete). The site mixes this into every ModelAdmin it registers (staff.admin_site),
Django's and the libraries' included, so no list can be left out.
"""

import logging

from django.contrib.admin.options import IncorrectLookupParameters
from django.db import DataError, transaction
from django.http import JsonResponse
from django.template.response import TemplateResponse

logger = logging.getLogger(__name__)

# What a value the query cannot hold raises: the database's refusal, a date or integer Python
# cannot represent (datetime(99999, 1, 1), int too large for C), text where bytes are stored
# (TypeError), and Django's own verdict.
REFUSED = (DataError, ValueError, OverflowError, TypeError, IncorrectLookupParameters)


class RefusedLookup(Exception):
    pass


class RefuseBadLookups:
    """Mixed into every ModelAdmin of the site: a list whose filters the query cannot run answers
    400 with a way back to the whole list."""

    def get_changelist_instance(self, request):
        # The changelist counts its rows while it is built: that is where a bad value fails.
        try:
            with transaction.atomic():  # a savepoint: the refusal must not spoil the request
                return super().get_changelist_instance(request)
        except REFUSED as error:
            raise RefusedLookup(str(error)) from error

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except RefusedLookup as refused:
            logger.info("Refused list filter %s: %s", request.get_full_path()[:200], refused)
            opts = self.model._meta
            context = {
                **self.admin_site.each_context(request),
                "opts": opts,
                "title": f"That filter does not work on {opts.verbose_name_plural}",
            }
            return TemplateResponse(request, "admin/bad_filter.html", context, status=400)


def with_refused_lookups(admin_class: type) -> type:
    """`admin_class` with RefuseBadLookups mixed in (itself when it already has it)."""
    if issubclass(admin_class, RefuseBadLookups):
        return admin_class
    return type(admin_class.__name__, (RefuseBadLookups, admin_class), {})


def autocomplete_refusing_bad_terms(view):
    """The site's autocomplete view, answering a term the query cannot hold with a JSON 400."""

    def autocomplete(request):
        try:
            with transaction.atomic():
                return view(request)
        except REFUSED as error:
            logger.info("Refused autocomplete %s: %s", request.get_full_path()[:200], error)
            return JsonResponse({"error": "That search term cannot be looked up."}, status=400)

    return autocomplete
