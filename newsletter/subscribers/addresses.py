"""Email addresses and names as they are stored: validated, normalised, never able to inject."""

import hashlib
import hmac
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db.models import CharField, Func

MAX_EMAIL_LENGTH = 254  # RFC 5321's limit for a forward path, and the column's width
MAX_NAME_LENGTH = 100

_validate_email = EmailValidator(message="Enter a valid email address.")

# The name becomes the display name in To: of every message. These characters make it an address
# list or an encoded word once a long header is folded (Python drops the quotes when it folds a
# quoted name), and no one's first name needs them.
NAME_FORBIDDEN = '@<>",;:=\\'


def _has_forbidden_characters(value: str) -> bool:
    # CR and LF are how a header is injected; other control characters have no place in either,
    # and a lone surrogate (possible in JSON) cannot even be stored. U+2028/U+2029 are line breaks
    # too: mail clients show them as new lines, and Python's email refuses them in a header.
    return any(unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") for char in value)


def _is_invisible(char: str) -> bool:
    # Format characters (Cf): a right-to-left override or a zero-width space makes a name read
    # differently from what it is, in admin, exports and the To: header.
    return unicodedata.category(char) == "Cf"


def safe_display_name(name: str) -> str:
    """`name` with everything clean_name refuses turned into spaces: for names stored before a
    rule existed, or set by staff, on their way into a header."""
    kept = (
        " "
        if char in NAME_FORBIDDEN or _has_forbidden_characters(char) or _is_invisible(char)
        else char
        for char in name or ""
    )
    return " ".join("".join(kept).split())


def normalise_email(raw: str) -> str:
    """The one stored form of an address: lower case, IDN domain in punycode, or ValidationError."""
    if not isinstance(raw, str):
        raise ValidationError("Enter a valid email address.", code="invalid")
    if _has_forbidden_characters(raw):
        raise ValidationError(
            "An email address cannot contain line breaks or control characters.", code="control"
        )
    value = raw.strip()
    if not value:
        raise ValidationError("Enter your email address.", code="required")
    if len(value) > MAX_EMAIL_LENGTH:
        raise ValidationError(
            f"An email address has at most {MAX_EMAIL_LENGTH} characters.", code="too_long"
        )
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise ValidationError("Enter a valid email address.", code="invalid")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError("The domain of this email address is not valid.", code="invalid")
    value = f"{local}@{domain}".lower()
    if len(value) > MAX_EMAIL_LENGTH:
        raise ValidationError(
            f"An email address has at most {MAX_EMAIL_LENGTH} characters.", code="too_long"
        )
    _validate_email(value)
    return value


def keyed_hash(text: str) -> str:
    """HMAC-SHA256 under ADDRESS_HASH_KEY. A plain SHA-256 of an address is as good as the address
    to anyone with a list of addresses to try; without the key, this one is not."""
    key = settings.ADDRESS_HASH_KEY.encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def suppression_hash(email: str) -> str:
    """What is kept of an erased address: enough to recognise it, not enough to read it.

    Keyed over the plain SHA-256 that earlier versions stored, so migration 0021 could convert
    those rows without knowing the addresses."""
    return stored_address_hash(normalise_email(email))


def stored_address_hash(email: str) -> str:
    """suppression_hash() of an address stored normalised, without normalising it again."""
    return keyed_hash(hashlib.sha256(email.encode()).hexdigest())


def _hmac_pads() -> tuple[bytes, bytes]:
    # HMAC (RFC 2104) as plain SHA-256 calls: H(K ^ opad || H(K ^ ipad || message)).
    key = settings.ADDRESS_HASH_KEY.encode()
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(byte ^ 0x5C for byte in key), bytes(byte ^ 0x36 for byte in key)


class SuppressionHash(Func):
    """suppression_hash() in SQL, for an address stored normalised (as Subscriber.email is), so a
    query can match subscribers against the list. PostgreSQL builds the HMAC from its built-in
    sha256(); SQLite calls the Python function (registered by register_sqlite_functions)."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        address, params = compiler.compile(self.source_expressions[0])
        inner = f"convert_to(encode(sha256(convert_to({address}, 'UTF8')), 'hex'), 'UTF8')"
        sql = f"encode(sha256(%s::bytea || sha256(%s::bytea || {inner})), 'hex')"
        return sql, (*_hmac_pads(), *params)

    def as_sqlite(self, compiler, connection, **extra_context):
        address, params = compiler.compile(self.source_expressions[0])
        return f"engage_suppression_hash({address})", params


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """Receiver of connection_created (NewsletterConfig.ready)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "engage_suppression_hash",
            1,
            lambda email: None if email is None else stored_address_hash(email),
            deterministic=True,
        )


def clean_name(raw: str) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValidationError("Enter your first name as text.", code="invalid")
    if _has_forbidden_characters(raw):
        raise ValidationError(
            "A name cannot contain line breaks or control characters.", code="control"
        )
    if any(_is_invisible(char) for char in raw):
        raise ValidationError(
            "A name cannot contain invisible formatting characters "
            "(such as a right-to-left override or a zero-width space).",
            code="invisible",
        )
    value = raw.strip()
    if len(value) > MAX_NAME_LENGTH:
        raise ValidationError(f"A name has at most {MAX_NAME_LENGTH} characters.", code="too_long")
    if any(char in NAME_FORBIDDEN for char in value):
        raise ValidationError(
            "A name cannot contain any of " + " ".join(NAME_FORBIDDEN) + ".", code="special"
        )
    return value
