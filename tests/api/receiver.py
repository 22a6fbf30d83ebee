"""A webhook receiver on loopback, run as its own process: it verifies each request with the
Standard Webhooks library and appends what it received to a file (one JSON line per request).

    python -m tests.api.receiver PORT SECRET OUT [DELAY_SECONDS]
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def serve(port: int, secret: str, out: str, delay: float) -> None:
    webhook = Webhook(secret)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver's server does

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                payload = webhook.verify(body, dict(self.headers))
                verified = True
            except WebhookVerificationError:
                payload, verified = json.loads(body or b"null"), False
            if delay:
                time.sleep(delay)
            line = {
                "id": self.headers.get("webhook-id"),
                "verified": verified,
                "at": time.time(),
                "payload": payload,
            }
            with lock, open(out, "a") as file:
                file.write(json.dumps(line) + "\n")
            self.send_response(204 if verified else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256  # a sender's window connects at once

    Server(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    port, secret, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    serve(port, secret, out, float(sys.argv[4]) if len(sys.argv) > 4 else 0.0)
