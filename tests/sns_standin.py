"""An Amazon SNS stand-in over real HTTP on loopback: it serves signing certificates (a
self-signed one of its own key, and the same key's expired one) where SigningCertURL points, and
records the ConfirmSubscription calls that boto3 makes when pointed at it by AWS_ENDPOINT_URL_SNS.
`sign()` signs a message as SNS does (AWS: sns/latest/dg/sns-verify-signature-of-message.html).
"""

import base64
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

# SignatureVersion 1 is SHA1withRSA: SNS's scheme, not our choice.
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}  # noqa: S303
SIGNED = {
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

CONFIRMED = b"""<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
<ConfirmSubscriptionResult><SubscriptionArn>arn:aws:sns:eu-west-1:123456789012:engage-ses-events:1
</SubscriptionArn></ConfirmSubscriptionResult>
<ResponseMetadata><RequestId>7a1c</RequestId></ResponseMetadata></ConfirmSubscriptionResponse>"""


def _certificate(key, *, not_before: datetime, not_after: datetime) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


class SnsStandin:
    """`start()` it once; `base` is its URL. Certificates: `base + "/sns/<name>.pem"` (under the
    prefix the web process is told to allow) and the same under `/elsewhere/` (not allowed)."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.now(UTC)
        valid = _certificate(
            self.key, not_before=now - timedelta(days=1), not_after=now + timedelta(days=30)
        )
        expired = _certificate(
            self.key, not_before=now - timedelta(days=60), not_after=now - timedelta(days=1)
        )
        self.files = {
            "/sns/SimpleNotificationService-engage.pem": valid,
            "/sns/SimpleNotificationService-expired.pem": expired,
            "/elsewhere/SimpleNotificationService-engage.pem": valid,
        }
        self.confirmed: list[dict] = []
        self.fetched: list[str] = []  # the paths of the certificates asked for, in turn
        self.server = None
        self.base = ""

    def start(self) -> "SnsStandin":
        if self.server is not None:
            return self
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                standin.fetched.append(self.path)
                body = standin.files.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def do_POST(self):
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                standin.confirmed.append({name: values[0] for name, values in form.items()})
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(CONFIRMED)))
                self.end_headers()
                self.wfile.write(CONFIRMED)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def cert_url(self, name: str = "engage", folder: str = "sns") -> str:
        return f"{self.base}{self.cert_path(name, folder)}"

    @staticmethod
    def cert_path(name: str = "engage", folder: str = "sns") -> str:
        return f"/{folder}/SimpleNotificationService-{name}.pem"

    def sign(self, message: dict, *, key=None) -> dict:
        """`message` with SNS's Signature, made with the stand-in's key (or `key`)."""
        canonical = "".join(
            f"{name}\n{message[name]}\n" for name in SIGNED[message["Type"]] if name in message
        ).encode()
        algorithm = HASHES[message["SignatureVersion"]]()
        signature = (key or self.key).sign(canonical, padding.PKCS1v15(), algorithm)
        return {**message, "Signature": base64.b64encode(signature).decode()}
