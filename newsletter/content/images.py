"""Images staff upload for posts and campaign intros.

Every upload is opened by Pillow and re-encoded: anything that is not a picture is refused, the
result is at most MAX_WIDTH pixels wide (twice the email's 600 px column, for sharp screens), and
its metadata (EXIF: the camera, often the place it was taken) is gone. Photos become JPEG, pictures
with transparency PNG: the two formats every mail client shows.
"""

import io
import secrets
import warnings

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from PIL import Image as Pillow
from PIL import ImageOps, UnidentifiedImageError

from newsletter.models import Image
from newsletter.subscribers import tokens

MAX_WIDTH = 1200
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# A small file can still unpack into a huge bitmap (a "decompression bomb"): refuse it unopened.
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
JPEG_QUALITY = 85


def prepare(upload: UploadedFile) -> ContentFile:
    """The upload as a picture fit for email, or a ValidationError saying why it is not one."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"This file is {filesizeformat(upload.size)}; images may be at most "
            f"{filesizeformat(MAX_UPLOAD_BYTES)}."
        )
    picture = _open(upload)
    picture = ImageOps.exif_transpose(picture)  # upright as the camera meant, then EXIF goes
    if picture.width > MAX_WIDTH:
        height = round(picture.height * MAX_WIDTH / picture.width)
        picture = picture.resize((MAX_WIDTH, max(height, 1)), Pillow.Resampling.LANCZOS)
    out = io.BytesIO()
    if _has_transparency(picture):
        picture.convert("RGBA").save(out, "PNG", optimize=True)
        extension = "png"
    else:
        picture.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        extension = "jpg"
    # A random name: an upload's own name is the uploader's business, and guessable names are not.
    return ContentFile(out.getvalue(), name=f"{secrets.token_urlsafe(12)}.{extension}")


def _open(upload: UploadedFile) -> Pillow.Image:
    refusal = ValidationError("This file is not an image Engage can use (JPEG, PNG, GIF or WebP).")
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Pillow.DecompressionBombWarning)
            picture = Pillow.open(upload)
            if picture.format not in ACCEPTED_FORMATS:
                raise refusal
            if picture.width * picture.height > MAX_PIXELS:
                raise ValidationError(
                    f"This image is {picture.width}×{picture.height} pixels; at most "
                    f"{MAX_PIXELS // 1_000_000} million pixels are accepted."
                )
            picture.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise refusal from error
    except (Pillow.DecompressionBombWarning, Pillow.DecompressionBombError) as error:
        raise ValidationError("This image is too large to open.") from error
    return picture


def _has_transparency(picture: Pillow.Image) -> bool:
    if picture.mode in ("RGBA", "LA", "PA"):
        return picture.getextrema()[-1][0] < 255
    return picture.mode == "P" and "transparency" in picture.info


def absolute_url(image: Image) -> str:
    """Where mail clients fetch the image: under SITE_URL, or MEDIA_URL when absolute (a CDN)."""
    url = image.file.url
    return url if "://" in url else tokens.absolute_url(url)


def markdown(image: Image) -> str:
    """The Markdown that shows `image` in a post or an intro."""
    alt = image.alt.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return f"![{alt}]({absolute_url(image)})"


UPLOAD_HELP = (
    f"JPEG, PNG, GIF or WebP, at most {filesizeformat(MAX_UPLOAD_BYTES)}. Engage makes it at "
    f"most {MAX_WIDTH} px wide for email and removes its metadata (camera, place)."
)
