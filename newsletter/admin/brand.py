"""The brand settings: one row, edited on its change page (the list shows just that row).

Senders and superusers may change it (migration 0151): it is part of what every email looks like.
"""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from newsletter.content import brand
from newsletter.models import Brand, BrandLink
from newsletter.staff import permissions

MAX_LINKS = 6


class BrandForm(forms.ModelForm):
    logo_upload = forms.FileField(
        required=False,
        label="New logo",
        help_text=f"PNG or JPEG, at most {brand.LOGO_MAX_BYTES // 1024} KB; shown "
        f"{brand.LOGO_HEIGHT} px tall on the brand colour.",
    )
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")

    class Meta:
        model = Brand
        fields = ["organisation_name", "colour", "donate_url", "donate_label"]
        widgets = {"colour": forms.TextInput(attrs={"type": "color"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation_name"].help_text = (
            f"Leave blank to use the charity's name Engage was set up with "
            f"(“{settings.ORGANISATION_NAME}”)."
        )
        # A colour picker always sends a colour: start it at the one in use.
        if not self.instance.colour:
            self.initial["colour"] = brand.DEFAULT_COLOUR

    def clean_logo_upload(self) -> bytes | None:
        """The upload's bytes once checked; stored only when the whole form saves."""
        upload = self.cleaned_data.get("logo_upload")
        if upload is None:
            return None
        if upload.size > brand.LOGO_MAX_BYTES:  # before reading it into memory
            raise ValidationError(brand.LOGO_TOO_LARGE)
        data = upload.read()
        brand.check_logo(data)
        return data


class LinkInline(admin.StackedInline):
    model = BrandLink
    extra = 1
    max_num = MAX_LINKS
    fields = ["position", "label", "url"]

    # The links are part of the brand: whoever may change it may change them.
    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(permissions.VIEW_BRAND) or self.has_change_permission(request)

    def has_add_permission(self, request, obj=None):
        return self.has_change_permission(request)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(permissions.CHANGE_BRAND)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request)


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    form = BrandForm
    inlines = [LinkInline]
    list_display = ["__str__", "name", "colour_in_use", "logo_in_use", "updated_at"]
    readonly_fields = ["current_logo"]
    fieldsets = [
        (None, {"fields": ["organisation_name", "colour"]}),
        ("Logo", {"fields": ["current_logo", "logo_upload", "remove_logo"]}),
        ("Donate button", {"fields": ["donate_url", "donate_label"]}),
    ]

    def has_add_permission(self, request):
        return False  # one row, made when someone who may change it first opens the list

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if self.has_change_permission(request):
            Brand.objects.get_or_create(pk=1)
        return super().changelist_view(request, extra_context)

    # What emails and pages show: a blank field is not "-" but the default it falls back to.
    @admin.display(description="organisation name")
    def name(self, obj):
        shown = brand.describe(obj)["name"]
        return shown if obj.organisation_name else f"{shown} (the default)"

    @admin.display(description="colour")
    def colour_in_use(self, obj):
        colour = brand.describe(obj)["colour"]
        return format_html(
            '<span style="display:inline-block;width:1em;height:1em;background:{};'
            'border:1px solid #767676;vertical-align:middle"></span> {}{}',
            colour,
            colour,
            "" if obj.colour else " (the default)",
        )

    @admin.display(description="logo")
    def logo_in_use(self, obj):
        return "uploaded" if obj.logo_id else "none: the name stands alone"

    @admin.display(description="Current logo")
    def current_logo(self, obj):
        look = brand.describe(obj)
        if not look["logo_url"]:
            return "None: the organisation's name stands alone."
        return format_html(
            '<img src="{}" alt="" width="{}" height="{}" style="background:{};padding:8px">',
            look["logo_url"],
            look["logo_width"],
            look["logo_height"],
            look["colour"],
        )

    def save_model(self, request, obj, form, change):
        if form.cleaned_data.get("remove_logo"):
            obj.logo = None
        elif form.cleaned_data.get("logo_upload"):
            obj.logo = brand.store_logo(form.cleaned_data["logo_upload"])
        super().save_model(request, obj, form, change)
        brand.forget()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        brand.forget()
