"""Admin in a comms officer's words: every registered admin's add and change form, its inlines,
its read-only fields and its list columns are walked, and a label that is a field's name
("Url", "Takes rsvps", "last_used_ip") or help text that names a setting ("the ORGANISATION_NAME
setting") fails here, so a new one cannot slip in."""

import re

import pytest
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.contrib.auth.models import User
from django.test import RequestFactory

pytestmark = pytest.mark.django_db

# Abbreviations staff know in capitals (RSVP, URL…); written "Url" or "rsvps" they are a field's
# name shown as it is.
ABBREVIATIONS = {
    "api", "csv", "dkim", "dmarc", "dsn", "esp", "html", "ics", "id", "imap", "ip", "json", "otp",
    "rsvp", "smtp", "spf", "totp", "url", "utc", "uuid", "verp",
}  # fmt: skip
SETTING = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b")  # ORGANISATION_NAME, SEND_TEST_RATE


def label_problems(label: str) -> list[str]:
    found = []
    for word in re.findall(r"[A-Za-z0-9_]+", label):
        bare = word[:-1] if word.endswith("s") and word[:-1].lower() in ABBREVIATIONS else word
        if "_" in word or (bare.lower() in ABBREVIATIONS and bare != bare.upper()):
            found.append(word)
    return found


def help_problems(text: str) -> list[str]:
    found = SETTING.findall(text)
    words = re.findall(r"[A-Za-z0-9]+", text)
    return found + [w for w in words if w.lower() in ABBREVIATIONS and w != w.upper()]


@pytest.mark.parametrize(
    "label, problems",
    [
        ("Url", ["Url"]),
        ("Takes rsvps", ["rsvps"]),
        ("Rsvp deadline", ["Rsvp"]),
        ("last used ip", ["ip"]),
        ("Message id", ["id"]),
        ("delay_unit", ["delay_unit"]),
        ("Web address", []),
        ("Takes RSVPs", []),
        ("RSVP deadline", []),
        ("Message-ID", []),
        ("IP address", []),
        ("Identity", []),
    ],
)
def test_the_label_check_knows_a_field_name_from_words(label, problems):
    assert label_problems(label) == problems


def test_the_help_text_check_finds_a_setting_named():
    assert help_problems("Blank: the ORGANISATION_NAME setting.") == ["ORGANISATION_NAME"]
    assert help_problems("Leave blank to use the charity's name (“Engage Health”).") == []


def labels_of(model_admin, request):
    """(where, label, help text) of every form field, read-only field and list column."""
    model = model_admin.model
    name = model._meta.label
    for obj in (None, model()):  # the add form, then the change form
        for field_name, field in model_admin.get_form(request, obj)().fields.items():
            yield f"{name}.{field_name}", str(field.label or ""), str(field.help_text or "")
        for field_name in model_admin.get_readonly_fields(request, obj):
            yield f"{name}.{field_name}", str(label_for_field(field_name, model, model_admin)), ""
        for inline in model_admin.get_inline_instances(request, obj):
            inline_name = inline.model._meta.label
            form = inline.get_formset(request, obj).form()
            for field_name, field in form.fields.items():
                where = f"{name} inline {inline_name}.{field_name}"
                yield where, str(field.label or ""), str(field.help_text or "")
            for field_name in inline.get_readonly_fields(request, obj):
                label = label_for_field(field_name, inline.model, inline)
                yield f"{name} inline {inline_name}.{field_name}", str(label), ""
    for column in model_admin.get_list_display(request):
        if isinstance(column, str) and column != "__str__":
            yield f"{name} list {column}", str(label_for_field(column, model, model_admin)), ""


def test_every_admin_form_speaks_in_words_not_field_names_or_settings():
    request = RequestFactory().get("/admin/")
    request.user = User(username="boss", is_staff=True, is_superuser=True, is_active=True)
    found = []
    for model_admin in admin.site._registry.values():
        for where, label, help_text in labels_of(model_admin, request):
            problems = label_problems(label) + help_problems(help_text)
            if problems:
                found.append(f"{where}: “{label}” {help_text!r} ({', '.join(problems)})")
    assert found == []
