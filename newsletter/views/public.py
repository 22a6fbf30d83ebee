"""Public archive and event calendar files. (Placeholder until built.)"""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


archive_index = archive_detail = event_ics = _todo
