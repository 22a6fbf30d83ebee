"""Click and open tracking. (Placeholder until built.)"""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


click = open_pixel = _todo
