"""anymail's webhook URLs, with these changes: a malformed payload is a 400, not a 500; an ESP
that relies on the webhook secret is refused while no secret is configured; the URLs of an ESP
that is not configured here (no signing key, no boto3 for SES) answer 404, not a 500; and Engage's
own checks after anymail's (newsletter.inbound.webhook_guard: a body anymail's validators cannot
read is a 400; a Mailgun signature is used once; Amazon SNS's signature must be Amazon's, and an
SNS certificate that cannot be fetched is a 503 for SNS to retry).

anymail checks the signature (basic auth, or the ESP's HMAC) first and answers 400 when it fails.
But a body that passes the check and then cannot be parsed (broken JSON, a missing field) raises
inside anymail's parser, which Django would answer with a 500, and ESPs retry a 500 for days.
The same views and names, under the same "anymail" namespace, so `reverse("anymail:…")` works.
"""

import logging

import anymail.urls
from anymail.exceptions import (
    AnymailAPIError,
    AnymailConfigurationError,
    AnymailWebhookValidationFailure,
)
from django.core.exceptions import BadRequest
from django.http import HttpResponse, HttpResponseNotFound
from django.urls import URLPattern
from django.views.decorators.csrf import csrf_exempt

from newsletter.inbound import sns_signature, webhook_guard

log = logging.getLogger(__name__)

app_name = "anymail"


def _strict(view_class: type) -> type:
    class StrictView(view_class):
        def __init__(self, **kwargs):
            # anymail reads the ESP's settings when the view is built, once per request.
            self.unconfigured = None
            try:
                super().__init__(**kwargs)
            except AnymailConfigurationError as error:
                self.unconfigured = error

        def dispatch(self, request, *args, **kwargs):
            try:
                if self.unconfigured is not None:
                    raise self.unconfigured
                # Some ESPs' views (Mandrill) read their key only when checking a request.
                return super().dispatch(request, *args, **kwargs)
            except AnymailAPIError as error:
                # What anymail raises for a body it cannot parse before parse_events (Amazon
                # SES reads the SNS envelope while validating).
                log.warning("malformed %s webhook refused: %s", self.esp_name, error)
                raise BadRequest(f"Malformed {self.esp_name} webhook payload.") from error
            except AnymailConfigurationError as error:
                log.warning("webhook for an unconfigured ESP refused: %s", error)
                return HttpResponseNotFound(
                    f"This ESP ({self.esp_name}) is not configured here.",
                    content_type="text/plain; charset=utf-8",
                )
            except sns_signature.CertificateUnavailable as error:
                # Not the caller's fault: a 503 that SNS retries, once the certificate is back.
                log.warning("%s webhook not verified: %s", self.esp_name, error)
                return HttpResponse(
                    "Cannot verify the signature now; try again.",
                    status=503,
                    content_type="text/plain; charset=utf-8",
                )

        def run_validators(self, request):
            webhook_guard.validated(self.esp_name, request, super().run_validators)

        def post(self, request, *args, **kwargs):
            response = super().post(request, *args, **kwargs)
            webhook_guard.accepted(self.esp_name, request)
            return response

        def validate_request(self, request):
            # anymail only warns when an ESP whose webhooks carry no signature of their own has no
            # WEBHOOK_SECRET, and then accepts anyone's "bounce" or "unsubscribe": refuse instead.
            if getattr(self, "warn_if_no_basic_auth", False) and not self.basic_auth:
                raise AnymailWebhookValidationFailure(
                    f"Anymail {self.esp_name} webhook refused: ANYMAIL_WEBHOOK_SECRET is not set."
                )

        def parse_events(self, request):
            try:
                return super().parse_events(request)
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                log.warning("malformed %s webhook refused: %r", self.esp_name, error)
                raise BadRequest(f"Malformed {self.esp_name} webhook payload.") from error

    StrictView.__name__ = StrictView.__qualname__ = f"Strict{view_class.__name__}"
    return StrictView


def _wrap(pattern: URLPattern) -> URLPattern:
    view = pattern.callback
    # An ESP posts without a CSRF token. anymail marks its dispatch csrf_exempt; as_view() copies
    # that mark from the class's dispatch, which StrictView overrides, so it is set again here.
    strict = csrf_exempt(_strict(view.view_class).as_view(**view.view_initkwargs))
    return URLPattern(pattern.pattern, strict, pattern.default_args, pattern.name)


urlpatterns = [_wrap(pattern) for pattern in anymail.urls.urlpatterns]
