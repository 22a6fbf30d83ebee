"""The mail service asking us to slow down: a signal about the whole send, never a reader's fault.

Three forms of it reach us: an ESP's HTTP 429 (with or without Retry-After), Amazon SES's
throttling errors ("Maximum sending rate exceeded", "Daily message quota exceeded", its API's
TooManyRequestsException), and an SMTP server's 454 (Amazon SES's SMTP interface answers
"454 Throttling failure" there; others use it for "too many connections or messages"). Each is
handled like the relay being down (newsletter/delivery/relay.py): every batch waits together, no
row is charged an attempt, and the campaign page says it is waiting for the mail server.
"""

# When a throttling answer names no wait of its own.
DEFAULT_WAIT_SECONDS = 5.0

# Amazon SES's error codes for "slow down" (SES v1 Query API, SES v2 REST API, their SDKs).
SES_THROTTLING = {"Throttling", "ThrottlingException", "TooManyRequestsException"}

# 454: Amazon SES's SMTP throttling reply; 421 (the server going away) is the relay's already.
SMTP_THROTTLING = {454}


def esp_wait(error) -> float | None:
    """Seconds to wait when `error` (an anymail API error) is the ESP throttling us; None when it
    is anything else."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        # boto3's ClientError answer, which anymail's Amazon SES backend passes on.
        code = response.get("Error", {}).get("Code", "")
        return DEFAULT_WAIT_SECONDS if code in SES_THROTTLING else None
    if status_code(error) != 429:
        return None
    return retry_after(response)


def status_code(error) -> int | None:
    """The HTTP status of an anymail API error, including Amazon SES's (whose boto3 answer is a
    dict that anymail does not read a status from)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return getattr(error, "status_code", None)


def retry_after(response) -> float:
    value = response.headers.get("Retry-After", "") if response is not None else ""
    try:
        return max(0.0, float(value))
    except ValueError:
        return DEFAULT_WAIT_SECONDS  # absent, or an HTTP date: a short pause, then try again


def smtp_throttled(code: int) -> bool:
    return code in SMTP_THROTTLING
