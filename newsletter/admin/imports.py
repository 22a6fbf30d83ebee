"""Importing subscribers in admin: upload a CSV, say which column is which, read the dry run, then
import with a progress bar. Pages under the subscriber admin (SubscriberAdmin.get_urls), for
whoever may add subscribers; the work is newsletter.subscribers.imports', the same as the
command's."""

from django import forms
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from newsletter.models import SubscriberImport
from newsletter.staff import audit, permissions
from newsletter.subscribers import enqueue, import_file, imports

Status = SubscriberImport.Status
PERMISSION = permissions.ADD_SUBSCRIBER


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            f"UTF-8 CSV with a header row, at most {import_file.MAX_BYTES // 2**20} MB, "
            f"{import_file.MAX_ROWS:,} rows and {import_file.MAX_COLUMNS} columns. You choose "
            "what each column holds next."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > import_file.MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {import_file.MAX_BYTES // 2**20} MB.", code="too_big"
            )
        data = upload.read()
        try:
            import_file.read_csv(data)
        except import_file.ImportFileError as error:
            raise forms.ValidationError(str(error), code="unreadable")
        return upload.name, data


class MappingForm(forms.Form):
    """A select per column of the file, guessed from its header name; and the consent stated for
    the whole file, for a file with no consent-date column."""

    consent_on = forms.DateField(
        label="These people consented on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="For rows without a consent date of their own (a date in a row wins).",
    )
    consent_via = forms.CharField(
        label="How they consented",
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"class": "vTextField", "size": 60}),
        help_text="Such as “signed up at the 2026 walk” or “ticked the box on the paper form”. "
        "Kept with each person's consent record.",
    )

    def __init__(self, *args, job: SubscriberImport, examples: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        if job.consent_at:
            self.fields["consent_on"].initial = job.consent_at.date()
            self.fields["consent_via"].initial = job.consent_via
        self.column_names = []
        for index, header in enumerate(job.headers):
            example = examples[index] if index < len(examples) else ""
            name = f"column_{index}"
            self.column_names.append(name)
            self.fields[name] = forms.ChoiceField(
                label=header or f"Column {index + 1} (no name)",
                choices=import_file.CHOICES,
                initial=job.mapping[index] if index < len(job.mapping) else import_file.IGNORE,
                required=False,
                help_text=f"First row: {example[:60]}" if example else "First row: (empty)",
            )

    def columns(self):
        return [self[name] for name in self.column_names]

    def clean(self):
        mapping = [self.cleaned_data.get(name, import_file.IGNORE) for name in self.column_names]
        try:
            import_file.check_mapping(mapping)
            statement = import_file.file_consent(
                self.cleaned_data.get("consent_on"), self.cleaned_data.get("consent_via", "")
            )
        except import_file.ImportFileError as error:
            raise forms.ValidationError(str(error), code="mapping")
        self.cleaned_data["mapping"] = mapping
        self.cleaned_data["statement"] = statement
        return self.cleaned_data


def urls(model_admin) -> list:
    def view(function):
        def wrapped(request, *args, **kwargs):
            permissions.require(request, PERMISSION)
            return function(model_admin, request, *args, **kwargs)

        return model_admin.admin_site.admin_view(wrapped)

    return [
        path("import/", view(upload), name="newsletter_subscriber_import"),
        path("import/sample.csv", view(sample), name="newsletter_subscriber_import_sample"),
        path(
            "import/<int:job_id>/columns/", view(columns), name="newsletter_subscriber_import_map"
        ),
        path("import/<int:job_id>/", view(job_page), name="newsletter_subscriber_import_job"),
        path(
            "import/<int:job_id>/progress.json",
            view(progress_json),
            name="newsletter_subscriber_import_progress",
        ),
    ]


def _render(model_admin, request, template: str, title: str, **context):
    return TemplateResponse(
        request,
        f"admin/newsletter/subscriber/{template}",
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.model._meta,
            "title": title,
            **context,
        },
    )


def upload(model_admin, request):
    posted = request.method == "POST"
    form = UploadForm(request.POST, request.FILES) if posted else UploadForm()
    if posted and form.is_valid():
        filename, data = form.cleaned_data["file"]
        job = imports.create_job(data=data, filename=filename, user=request.user)
        return redirect("admin:newsletter_subscriber_import_map", job.pk)
    response = _render(
        model_admin,
        request,
        "import_upload.html",
        "Import subscribers",
        form=form,
        recent=SubscriberImport.objects.order_by("-id")[:5],
        explained=import_file.EXPLAINED,
    )
    response.status_code = 400 if posted else 200
    return response


def sample(model_admin, request):
    response = HttpResponse(import_file.sample_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="engage-import-sample.csv"'
    return response


def columns(model_admin, request, job_id: int):
    job = get_object_or_404(SubscriberImport, pk=job_id)
    if job.status not in (Status.UPLOADED, Status.CHECKED) or not job.data:
        return redirect("admin:newsletter_subscriber_import_job", job.pk)
    try:
        table = imports.job_table(job)
    except import_file.ImportFileError as error:  # stored before today's limits (the columns)
        imports.fail_job(job.pk, str(error))
        return redirect("admin:newsletter_subscriber_import_job", job.pk)
    examples = table.rows[0][1] if table.rows else []
    posted = request.method == "POST"
    form = MappingForm(request.POST if posted else None, job=job, examples=examples)
    if posted and form.is_valid():
        imports.job_check(job, form.cleaned_data["mapping"], form.cleaned_data["statement"])
        return redirect("admin:newsletter_subscriber_import_job", job.pk)
    response = _render(
        model_admin,
        request,
        "import_map.html",
        "Choose what each column holds",
        form=form,
        job=job,
    )
    response.status_code = 400 if posted else 200
    return response


def job_page(model_admin, request, job_id: int):
    job = get_object_or_404(SubscriberImport, pk=job_id)
    if job.status == Status.UPLOADED and request.method == "GET":
        return redirect("admin:newsletter_subscriber_import_map", job.pk)
    if request.method == "POST":
        if imports.job_queue(job):
            audit.record(
                request.user, "import started", f"import #{job.pk}", request=request, job=job.pk
            )
            enqueue.import_job(job.pk)
        return redirect("admin:newsletter_subscriber_import_job", job.pk)
    title = {
        Status.CHECKED: "Dry run: what the import would do",
        Status.QUEUED: "Importing subscribers…",
        Status.RUNNING: "Importing subscribers…",
        Status.DONE: "Import finished",
        Status.FAILED: "Import stopped",
    }[job.status]
    live = job.status in (Status.QUEUED, Status.RUNNING)
    # While it runs, the bar; before, the dry run; after, what was done.
    shown = {} if live else job.dry_run if job.status == Status.CHECKED else job.report
    return _render(
        model_admin,
        request,
        "import_job.html",
        title,
        job=job,
        report=shown,
        left_out=_left_out(shown),
        progress=imports.progress(job),
        live=live,
        columns=[
            (h, import_file.LABELS[m]) for h, m in zip(job.headers, job.mapping, strict=False)
        ],
        progress_url=reverse("admin:newsletter_subscriber_import_progress", args=[job.pk]),
    )


def _left_out(report: dict) -> list[tuple[int, str]]:
    """Every row listed as not imported, with why, in row order."""
    rows = [(row, reason) for row, reason in report.get("rejected", [])]
    rows += [(row, "already subscribed") for row in report.get("already", [])]
    rows += [
        (row, "suppressed: bounced, complained, unsubscribed or erased")
        for row in report.get("suppressed", [])
    ]
    return sorted(rows)


def progress_json(model_admin, request, job_id: int):
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return JsonResponse(imports.progress(get_object_or_404(SubscriberImport, pk=job_id)))
