"""Amazon SNS's signature on the messages it posts (Amazon SES's events come through SNS), which
anymail does not check: without it, the basic auth in the subscription URL would be the only proof.

AWS's recipe (docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html): the
certificate named by SigningCertURL, fetched over HTTPS from `sns.<region>.amazonaws.com` only,
signs a canonical string of the message's fields, with SHA1withRSA (SignatureVersion 1) or
SHA256withRSA (2). The certificate's host is what makes it Amazon's: anyone can sign with a
certificate of their own.
"""

import base64
import binascii
import hashlib
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import urllib3
from anymail.exceptions import AnymailWebhookValidationFailure
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.conf import settings
from django.core.cache import cache

# SNS's own hosts (China's regions end in .cn).
SNS_CERT_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
# SHA-1 for version 1 is SNS's scheme, not our choice.
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}  # noqa: S303
# The fields signed, in this order, each as "Name\nvalue\n"; a missing Subject is left out.
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
SIGNED_FIELDS["UnsubscribeConfirmation"] = SIGNED_FIELDS["SubscriptionConfirmation"]
FETCH_TIMEOUT_SECONDS = 5
MAX_CERT_BYTES = 64 * 1024
CACHE_SECONDS = 24 * 3600


class CertificateUnavailable(Exception):
    """SNS's certificate could not be fetched: our side's trouble, worth SNS trying again."""


def verify(message: dict) -> None:
    """Raise AnymailWebhookValidationFailure unless SNS signed `message` (a parsed SNS body)."""
    algorithm = HASHES.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise AnymailWebhookValidationFailure("SNS message without a known SignatureVersion")
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
    except (binascii.Error, ValueError):
        raise AnymailWebhookValidationFailure("SNS message signature is not base64")
    certificate = _certificate(str(message.get("SigningCertURL", "")))
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise AnymailWebhookValidationFailure("SNS signing certificate has expired")
    try:
        certificate.public_key().verify(
            signature, _canonical(message), padding.PKCS1v15(), algorithm()
        )
    except (InvalidSignature, TypeError, ValueError):
        raise AnymailWebhookValidationFailure("SNS message signature does not match")


def _canonical(message: dict) -> bytes:
    fields = SIGNED_FIELDS.get(message.get("Type"))
    if fields is None:
        raise AnymailWebhookValidationFailure("SNS message of an unknown Type")
    return "".join(
        f"{name}\n{message[name]}\n" for name in fields if message.get(name) is not None
    ).encode()


def _certificate(url: str) -> x509.Certificate:
    if not cert_url_allowed(url):
        raise AnymailWebhookValidationFailure(f"SNS SigningCertURL not from Amazon SNS: {url!r}")
    key = "sns-cert:" + hashlib.sha256(url.encode()).hexdigest()
    pem = cache.get(key)
    if pem is not None:
        return x509.load_pem_x509_certificate(pem)
    pem = _fetch(url)
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise AnymailWebhookValidationFailure("SNS SigningCertURL is not a PEM certificate")
    cache.set(key, pem, CACHE_SECONDS)
    return certificate


def cert_url_allowed(url: str) -> bool:
    """An https URL on SNS's own host, or under SNS_CERT_URL_ALLOW (a loopback stand-in, tests)."""
    allowed = settings.SNS_CERT_URL_ALLOW
    if allowed and url.startswith(allowed):
        return True
    parts = urlsplit(url)
    return (
        parts.scheme == "https"
        and parts.port is None
        and SNS_CERT_HOST.fullmatch(parts.hostname or "") is not None
        and not parts.username
    )


def _fetch(url: str) -> bytes:
    try:
        response = urllib3.request(
            "GET",
            url,
            timeout=FETCH_TIMEOUT_SECONDS,
            retries=False,
            redirect=False,
            preload_content=False,
        )
        body = response.read(MAX_CERT_BYTES + 1)
        response.release_conn()
    except urllib3.exceptions.HTTPError as error:
        raise CertificateUnavailable(f"SNS signing certificate not fetched: {error}") from error
    if response.status != 200 or len(body) > MAX_CERT_BYTES:
        raise CertificateUnavailable(f"SNS signing certificate answered {response.status}")
    return body
