"""The click redirect and the open pixel (newsletter.engagement.tracking does the work)."""

import base64

from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from newsletter.engagement import tracking

# A transparent 1×1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@never_cache
@require_safe
def click(request, token):
    try:
        target = tracking.click_follow(
            token=token,
            url=request.GET.get("u", ""),
            signature=request.GET.get("s", ""),
            # Link checkers and mail scanners probe with HEAD: answer, but record nothing.
            record=request.method == "GET",
        )
    except tracking.BadLink as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain")
    return HttpResponseRedirect(target)


@never_cache
@require_safe
def open_pixel(request, token):
    if request.method == "GET":
        tracking.open_record(token=token)
    # The same image whatever the token: the answer tells nothing about who opened what.
    return HttpResponse(PIXEL, content_type="image/gif")
