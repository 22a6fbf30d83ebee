"""A loopback stand-in for an ESP's HTTP API: Postmark's `/email` and `/email/batch`.

It answers the way Postmark does (the shapes anymail's postmark backend sends and parses), after
a configurable latency, and counts calls and recipients. Tests and the benchmark (bench/esp.py)
point anymail at it with ANYMAIL = {"POSTMARK_API_URL": standin.url, ...}.

Faults, for tests:
    standin.refuse["x@example.org"] = 406          # that recipient is inactive (a hard bounce)
    standin.refuse["y@example.org"] = 500          # a per-message error Postmark reports in a batch
    standin.script.append(Fault(status=429, retry_after=2))   # the next call is throttled
    standin.script.append(Fault(status=503))                  # the next call fails
    standin.script.append(Fault(delay=3))   # the next call is accepted but answered late

A scripted fault applies to one call, in order. A `delay` fault still accepts the messages (an
ESP that timed out may well have sent them): they are recorded before the slow answer.
"""

import argparse
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POSTMARK_BATCH_LIMIT = 500
INACTIVE = (
    "You tried to send to a recipient that has been marked as inactive.\n"
    "Found inactive addresses: {address}.\n"
    "Inactive recipients are ones that have generated a hard bounce or a spam complaint."
)


@dataclass
class Fault:
    status: int = 200  # the HTTP status of the whole call (429, 500, 503 ...)
    retry_after: float | None = None  # seconds, sent as Retry-After with a 429
    delay: float = 0.0  # extra seconds before answering (accepted, answered late)


@dataclass
class Accepted:
    """One message the stand-in accepted (kept only when the stand-in keeps messages)."""

    to: str
    subject: str
    html: str
    text: str
    headers: dict[str, str]
    metadata: dict
    message_id: str


@dataclass
class EspStandin:
    latency: float = 0.05
    keep: bool = True  # keep every accepted message (tests); the benchmark only counts
    refuse: dict[str, int] = field(default_factory=dict)  # address -> Postmark ErrorCode
    script: list[Fault] = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)  # path -> calls answered
    recipients: int = 0  # messages accepted
    in_flight: int = 0  # calls being answered now
    most_in_flight: int = 0  # the most calls at once
    accepted: list[Accepted] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self, port: int = 0) -> "EspStandin":
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: requests reuses its connections

            def do_POST(self):
                standin._handle(self)

            def do_GET(self):
                # The counts, for a benchmark that runs the stand-in in a process of its own.
                with standin.lock:
                    counts = {"calls": dict(standin.calls), "recipients": standin.recipients}
                if self.path.rstrip("/") == "/reset":
                    standin.reset()
                _answer(self, 200, counts)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 128
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.recipients = 0
            self.most_in_flight = 0
            self.accepted.clear()
            self.refuse.clear()
            self.script.clear()

    def received_by(self, address: str) -> list[Accepted]:
        return [m for m in self.accepted if _addr_spec(m.to) == address.lower()]

    # --- The API ---------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length", 0))
        body = request.rfile.read(length)
        path = request.path.strip("/")
        with self.lock:
            fault = self.script.pop(0) if self.script else Fault()
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self._answer_call(request, path, body, fault)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _answer_call(self, request, path: str, body: bytes, fault: Fault) -> None:
        time.sleep(self.latency)
        if fault.status != 200:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            self._count(path, 0)
            return _answer(request, fault.status, {"ErrorCode": 0, "Message": "Try later"}, headers)
        if not request.headers.get("X-Postmark-Server-Token"):
            return _answer(request, 401, {"ErrorCode": 10, "Message": "No token"})
        if path not in ("email", "email/batch"):
            return _answer(request, 404, {"ErrorCode": 0, "Message": "Unknown path"})
        payload = json.loads(body)
        messages = payload if path == "email/batch" else [payload]
        if len(messages) > POSTMARK_BATCH_LIMIT:
            return _answer(request, 422, {"ErrorCode": 300, "Message": "Too many messages"})
        answers = [self._accept(message) for message in messages]
        self._count(path, sum(1 for a in answers if a["ErrorCode"] == 0))
        if fault.delay:
            time.sleep(fault.delay)
        if path == "email":
            status = 200 if answers[0]["ErrorCode"] == 0 else 422
            return _answer(request, status, answers[0])
        return _answer(request, 200, answers)

    def _accept(self, message: dict) -> dict:
        to = message.get("To", "")
        address = _addr_spec(to)
        code = self.refuse.get(address)
        if code == 406:
            return {"ErrorCode": 406, "Message": INACTIVE.format(address=address)}
        if code is not None:
            return {"ErrorCode": code, "Message": "The stand-in refused this message."}
        message_id = str(uuid.uuid4())
        if self.keep:
            headers = {h["Name"]: h["Value"] for h in message.get("Headers", [])}
            kept = Accepted(
                to=to,
                subject=message.get("Subject", ""),
                html=message.get("HtmlBody", ""),
                text=message.get("TextBody", ""),
                headers=headers,
                metadata=message.get("Metadata", {}),
                message_id=message_id,
            )
            with self.lock:
                self.accepted.append(kept)
        return {
            "ErrorCode": 0,
            "Message": "OK",
            "MessageID": message_id,
            "SubmittedAt": datetime.now(UTC).isoformat(),
            "To": to,
        }

    def _count(self, path: str, recipients: int) -> None:
        with self.lock:
            self.calls[path] += 1
            self.recipients += recipients


def _addr_spec(to: str) -> str:
    from email.utils import parseaddr

    return parseaddr(to)[1].lower()


def _answer(request, status: int, payload, headers: dict | None = None) -> None:
    data = json.dumps(payload).encode()
    try:
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up waiting (a timeout): the messages were accepted all the same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per call")
    args = parser.parse_args()
    standin = EspStandin(latency=args.latency, keep=False).start(args.port)
    print(f"Postmark stand-in at {standin.url} ({args.latency * 1000:g} ms a call)", flush=True)
    try:
        while True:
            time.sleep(5)
            print(f"calls {dict(standin.calls)}, messages {standin.recipients}", flush=True)
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
