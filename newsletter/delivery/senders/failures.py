"""How a send can fail, whoever the sender: the batch decides what each means for the row."""


class Refused(Exception):
    """The server refused the recipient for good (5xx at RCPT): a bounce."""


class Rejected(Exception):
    """The server refused this message for good (e.g. 5xx after DATA): failed, not retried."""


class Transient(Exception):
    """Try again later. `relay` says whose failure it is: True for the mail server's own (no
    connection, a dropped one, a timeout, TLS, 421, an ESP outage), which waits for the server and
    is charged to no recipient; False for this recipient's (a 4xx for them), retried per row."""

    def __init__(self, reason: str, *, relay: bool):
        super().__init__(reason)
        self.relay = relay
