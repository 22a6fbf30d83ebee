"""Images staff upload from the editor: alt text required, made fit for email by Pillow (at most
1200 px wide, no EXIF, re-encoded), refused with a field error when they are not images or too
big, and served from MEDIA_URL at an address under SITE_URL."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image as Pillow

from newsletter.content import images
from newsletter.models import Image
from tests.factories import picture, staff_member

pytestmark = pytest.mark.django_db

UPLOAD = "/admin/newsletter/image/upload/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = "https://engage.example.org"
    return settings.MEDIA_ROOT


def photo(width=3000, height=2000, *, fmt="JPEG", mode="RGB", exif=True, name="photo.jpg"):
    options = {"mode": mode, "color": "teal" if mode != "RGBA" else (0, 128, 128, 90)}
    if exif:
        tags = Pillow.Exif()
        tags[0x010F] = "Canon"  # Make
        tags[0x0110] = "EOS 5D"  # Model
        tags[0x0112] = 1  # Orientation
        options["exif"] = tags.tobytes()
    data = picture(width, height, fmt, **options)
    return SimpleUploadedFile(name, data, content_type=f"image/{fmt.lower()}")


def upload(client, file, alt="A nurse talks with a patient in the new clinic"):
    data = {"file": file} if file is not None else {}
    if alt is not None:
        data["alt"] = alt
    return client.post(UPLOAD, data)


def stored_files(media) -> list:
    return [path for path in media.rglob("*") if path.is_file()] if media.exists() else []


def test_an_upload_is_resized_for_email_stripped_of_exif_and_served(client, editor, media):
    source = photo()
    assert Pillow.open(io.BytesIO(source.read())).getexif()[0x010F] == "Canon"
    source.seek(0)

    response = upload(client, source)

    assert response.status_code == 201
    answer = response.json()
    image = Image.objects.get()
    assert (image.width, image.height, image.uploaded_by) == (1200, 800, editor)
    assert image.alt == "A nurse talks with a patient in the new clinic"
    assert answer["url"].startswith("https://engage.example.org/media/images/")
    assert answer["url"].endswith(".jpg")
    assert answer["markdown"] == f"![{image.alt}]({answer['url']})"
    with Pillow.open(image.file.path) as stored:
        assert (stored.format, stored.size) == ("JPEG", (1200, 800))
        assert dict(stored.getexif()) == {}
    # The name is Engage's, not the uploader's.
    assert "photo" not in image.file.name

    served = client.get(answer["url"].removeprefix("https://engage.example.org"))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert "immutable" in served["Cache-Control"]
    assert b"".join(served.streaming_content) == image.file.open("rb").read()


def test_a_picture_with_transparency_stays_png_and_a_small_one_keeps_its_size(client, editor):
    response = upload(client, photo(400, 300, fmt="PNG", mode="RGBA", exif=False, name="a.png"))

    assert response.status_code == 201
    with Pillow.open(Image.objects.get().file.path) as stored:
        assert (stored.format, stored.size, stored.mode) == ("PNG", (400, 300), "RGBA")


def test_a_file_that_is_not_an_image_is_refused_with_a_field_error(client, editor, media):
    fake = SimpleUploadedFile("report.jpg", b"%PDF-1.7\n" + b"x" * 4000, "image/jpeg")

    response = upload(client, fake)

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "file": ["This file is not an image Engage can use (JPEG, PNG, GIF or WebP)."]
    }
    assert not Image.objects.exists() and stored_files(media) == []


def test_an_image_without_alt_text_is_refused(client, editor, media):
    for alt in (None, "", "   "):
        response = upload(client, photo(), alt=alt)
        assert response.status_code == 400
        assert response.json()["errors"] == {"alt": ["This field is required."]}
    assert not Image.objects.exists() and stored_files(media) == []


def test_a_file_over_the_size_limit_is_refused(client, editor, media, monkeypatch):
    monkeypatch.setattr(images, "MAX_UPLOAD_BYTES", 20_000)
    out = io.BytesIO()
    Pillow.effect_noise((200, 200), 100).save(out, "PNG")  # noise does not compress
    big = SimpleUploadedFile("big.png", out.getvalue(), "image/png")
    assert big.size > 20_000

    response = upload(client, big)

    assert response.status_code == 400
    message = response.json()["errors"]["file"][0]
    assert message.startswith("This file is ") and message.endswith("at most 19.5\xa0KB.")
    assert not Image.objects.exists() and stored_files(media) == []


def test_an_image_of_too_many_pixels_is_refused_before_it_is_decoded(client, editor, media):
    # 50 million pixels in a few kilobytes: the shape of a decompression bomb.
    bomb = photo(10_000, 5_000, fmt="PNG", mode="1", exif=False, name="bomb.png")
    assert bomb.size < 100_000

    response = upload(client, bomb)

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "file": ["This image is 10000×5000 pixels; at most 40 million pixels are accepted."]
    }
    assert not Image.objects.exists()


def test_uploading_is_a_post_and_needs_the_add_permission(client, media):
    client.force_login(staff_member("subscriber manager"))
    assert upload(client, photo()).status_code == 403
    client.force_login(staff_member("editor"))
    assert client.get(UPLOAD).status_code == 405
    assert not Image.objects.exists() and stored_files(media) == []


def test_the_image_pages_in_admin_upload_and_list(client, editor):
    response = client.post(
        reverse("admin:newsletter_image_add"), {"file": photo(), "alt": "The river walk"}
    )
    assert response.status_code == 302
    image = Image.objects.get()
    assert (image.width, image.uploaded_by) == (1200, editor)
    listing = client.get(reverse("admin:newsletter_image_changelist")).content.decode()
    assert 'alt="The river walk"' in listing
    # Its pixels stay (a sent email may show them); its description can change.
    change = reverse("admin:newsletter_image_change", args=[image.pk])
    assert client.post(change, {"alt": "The river walk in May"}).status_code == 302
    image.refresh_from_db()
    assert image.alt == "The river walk in May" and image.width == 1200
