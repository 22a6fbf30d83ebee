"""How a send can fail, whoever the sender: the batch decides what each means for the row."""


class Refused(Exception):
    """The server refused the recipient for good (5xx at RCPT): a bounce."""


class Rejected(Exception):
    """The server refused this message for good (e.g. 5xx after DATA): failed, not retried."""


class Transient(Exception):
    """Try again later (4xx, connection dropped, timeout)."""

    def __init__(self, reason: str, *, connection_lost: bool):
        super().__init__(reason)
        self.connection_lost = connection_lost
