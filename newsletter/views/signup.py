"""The visitor's path: join, confirm, preferences, unsubscribe. (Placeholder until built.)"""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


join = join_embed = api_subscribe = confirm = preferences = unsubscribe = _todo
