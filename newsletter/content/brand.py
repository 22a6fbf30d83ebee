"""The charity's look: name, logo, colour, footer links and donate button, for emails, the public
pages and the admin header.

Read on every page and at every render, so it is kept in the shared cache, and forgotten (with the
cached join page) once a change commits. Blank fields fall back to the settings, so a fresh
install looks as it did before brands existed.

A campaign freezes the brand in its snapshot when it is scheduled, as it freezes its content:
what a sender approved is what goes out, even if the colour changes while it waits.
"""

import hashlib
import struct

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from newsletter.models import Brand, BrandLogo
from newsletter.subscribers import tokens

CACHE_KEY = "brand:v1"
DEFAULT_COLOUR = "#12355b"
DEFAULT_DONATE_LABEL = "Donate"
LOGO_MAX_BYTES = 200 * 1024
# How tall the logo shows in the email masthead and page header (CSS pixels).
LOGO_HEIGHT = 48
LOGO_TOO_LARGE = f"The logo is too large: at most {LOGO_MAX_BYTES // 1024} KB."
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def current() -> dict:
    """The brand as plain values (what templates and snapshots use)."""
    values = cache.get(CACHE_KEY)
    if values is None:
        values = describe(Brand.objects.prefetch_related("links").select_related("logo").first())
        cache.set(CACHE_KEY, values, timeout=None)
    return values


def describe(brand: Brand | None) -> dict:
    colour = (brand.colour if brand else "") or DEFAULT_COLOUR
    logo = brand.logo if brand else None
    return {
        "name": (brand.organisation_name if brand else "") or settings.ORGANISATION_NAME,
        "colour": colour.lower(),
        "text_colour": text_colour(colour),
        "logo_url": tokens.absolute_url(logo_path(logo)) if logo else "",
        "logo_width": round(logo.width * LOGO_HEIGHT / logo.height) if logo else 0,
        "logo_height": LOGO_HEIGHT if logo else 0,
        "donate_url": brand.donate_url if brand else "",
        "donate_label": (brand.donate_label if brand else "") or DEFAULT_DONATE_LABEL,
        "links": [{"label": link.label, "url": link.url} for link in brand.links.all()]
        if brand
        else [],
    }


def frozen_brand(snapshot_brand: dict) -> dict:
    """The brand a snapshot shows: its own, or the current one for snapshots older than brands."""
    return snapshot_brand or current()


def forget() -> None:
    """After a change commits: every process reads the brand afresh. (The join page, which shows
    it, renders afresh on its own: NewsletterConfig.ready connects it to the brand's models.)"""
    transaction.on_commit(lambda: cache.delete(CACHE_KEY))


def context() -> dict:
    """What every page and email shows of the organisation: its look, postal address and site."""
    look = current()
    return {
        "organisation_name": look["name"],
        "organisation_address": settings.ORGANISATION_ADDRESS,
        "site_url": settings.SITE_URL,
        "brand": look,
    }


def logo_path(logo: BrandLogo) -> str:
    return reverse("brand-logo", args=[logo.digest])


# --- Colour -------------------------------------------------------------------------------------


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of #rrggbb."""
    channels = []
    for i in (1, 3, 5):
        c = int(colour[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour(background: str) -> str:
    """White or black, whichever contrasts more with `background`: at least 4.58:1 for any
    colour, above WCAG AA's 4.5:1 for text, so every brand colour is allowed."""
    white, black = "#ffffff", "#000000"
    return white if contrast(background, white) >= contrast(background, black) else black


# --- Logo ---------------------------------------------------------------------------------------


def check_logo(data: bytes) -> tuple[str, int, int]:
    """An uploaded logo's type, width and height, if it is a small PNG or JPEG we can read."""
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError(LOGO_TOO_LARGE)
    content_type = next((t for magic, t in LOGO_TYPES.items() if data.startswith(magic)), None)
    if content_type is None:
        raise ValidationError("The logo must be a PNG or JPEG image.")
    size = _png_size(data) if content_type == "image/png" else _jpeg_size(data)
    if size is None or not all(0 < side <= 4000 for side in size):
        raise ValidationError("The logo could not be read as an image.")
    return content_type, *size


def store_logo(data: bytes) -> BrandLogo:
    """Keep a logo that passed check_logo (once per content)."""
    content_type, width, height = check_logo(data)
    logo, _ = BrandLogo.objects.get_or_create(
        digest=hashlib.sha256(data).hexdigest(),
        defaults={"content_type": content_type, "data": data, "width": width, "height": height},
    )
    return logo


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The frame size from the first SOFn marker."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None
