"""Staff sign-in answers one way for any wrong credential, and a run of failures pauses it.

django-axes counts failed sign-ins per account and per client address (settings: AXES_*); a
success clears the account's count. A right password with a wrong code is a failure like any
other: otherwise the code could be skipped while the password is guessed, and the password
confirmed by the change of message.
"""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import render

REFUSED = (
    "That did not sign you in. Check your username and password, and the 6-digit code your "
    "authenticator shows now (or an unused recovery code). No authenticator yet? Ask an "
    "administrator to set one up for you."
)


def count_failure(request, username: str) -> None:
    """Counts a refused second factor against the account as django-axes counts a wrong
    password (through the same signal)."""
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer while sign-in is paused: what happened, and how staff get back in."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    context = {
        "username": username[:150],
        "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        "title": "Sign-in paused",
    }
    # Rendered now: django-axes hands it back from its middleware, past the template renderer.
    return render(request, "admin/login_locked.html", context, status=429)


class Backend(AxesStandaloneBackend):
    """django-axes' lock check for every sign-in over the web. A call with no request (the test
    client's `login()`, a management command) is nobody's sign-in attempt from the network:
    axes has nothing to count it against, so it is left to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
