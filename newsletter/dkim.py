"""DKIM signing of outgoing messages. (Placeholder: returns the message unchanged until built.)"""


def sign(message: bytes) -> bytes:
    return message
