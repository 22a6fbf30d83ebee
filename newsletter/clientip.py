"""The address a request came from: one function, so every rate limit and record agrees."""


def client_ip(request) -> str:
    """The client's IP address as text ("" when unknown)."""
    return request.META.get("REMOTE_ADDR", "")
