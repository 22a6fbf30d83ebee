"""An Amazon SES (v2 API) stand-in over real HTTP on loopback, for boto3 pointed at it by
AMAZON_SES_CLIENT_PARAMS' endpoint_url: it accepts SendEmail, or answers the errors it is told to
(each as SES writes them: an HTTP status, x-amzn-ErrorType and a JSON message)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SesStandin:
    def __init__(self):
        self.errors: list[tuple[int, str, str]] = []  # (status, error type, message), in turn
        self.accepted: list[dict] = []
        self.calls = 0
        self.lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                with standin.lock:
                    standin.calls += 1
                    error = standin.errors.pop(0) if standin.errors else None
                    if error is None:
                        standin.accepted.append(body)
                        n = len(standin.accepted)
                if error is None:
                    self.answer(200, {"MessageId": f"ses-{n}"}, {})
                else:
                    status, kind, message = error
                    self.answer(status, {"message": message}, {"x-amzn-ErrorType": kind})

            def answer(self, status, payload, headers):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "SesStandin":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
