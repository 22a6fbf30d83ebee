"""Admin for images: uploaded here or from the editor's image button, used in posts and intros."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, JsonResponse
from django.urls import path
from django.utils.html import format_html

from newsletter.admin.editor import refusal
from newsletter.content import images
from newsletter.models import Image


class ImageForm(forms.ModelForm):
    # A plain file field: newsletter.content.images decides what is an image (and re-encodes it).
    file = forms.FileField(label="Image", help_text=images.UPLOAD_HELP)

    class Meta:
        model = Image
        fields = ["file", "alt"]

    def clean_file(self):
        return images.prepare(self.cleaned_data["file"])


class AltTextForm(forms.ModelForm):
    """An uploaded image keeps its pixels (sent emails may show it); its description can change."""

    class Meta:
        model = Image
        fields = ["alt"]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "alt", "size", "uploaded_by", "created_at"]
    list_select_related = ["uploaded_by"]
    search_fields = ["alt"]
    readonly_fields = ["thumbnail", "size", "address", "uploaded_by", "created_at"]

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = AltTextForm if obj is not None else ImageForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["file", "alt"]
        return ["thumbnail", "alt", "size", "address", "uploaded_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.uploaded_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="image")
    def thumbnail(self, obj):
        return format_html('<img src="{}" alt="{}" class="image-thumbnail">', obj.file.url, obj.alt)

    @admin.display(description="size")
    def size(self, obj):
        return f"{obj.width} × {obj.height} px"

    @admin.display(description="address in emails")
    def address(self, obj):
        return images.absolute_url(obj)

    def get_urls(self):
        view = self.admin_site.admin_view
        upload = path("upload/", view(self.upload_view), name="image-upload")
        return [upload, *super().get_urls()]

    def upload_view(self, request):
        """The editor's image button: 201 with the image's address, or 400 with field errors."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        form = ImageForm(request.POST, request.FILES)
        if not form.is_valid():
            return refusal(form.errors)
        image = form.save(commit=False)
        image.uploaded_by = request.user
        image.save()
        url = images.absolute_url(image)
        return JsonResponse(
            {
                "id": image.pk,
                "url": url,
                "alt": image.alt,
                "width": image.width,
                "height": image.height,
                "markdown": images.markdown(image),
            },
            status=201,
        )
