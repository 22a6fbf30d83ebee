/* Writing in Engage's admin (newsletter/admin/editor.py): Markdown editors with an image button,
   the email preview beside the form, and the event fields only for events. Without JavaScript
   the form still works: plain textareas, every field shown, the "Preview" page. */
"use strict";

(function () {
  const editors = [];

  function csrfToken() {
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // --- Uploading an image: a dialog that asks for the file and its alt text -------------------

  let dialog = null;
  let target = null; // the editor the image goes into

  function imageDialog() {
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.className = "image-dialog";
    dialog.setAttribute("aria-labelledby", "image-dialog-title");
    dialog.innerHTML = `
      <form method="dialog" novalidate>
        <h2 id="image-dialog-title">Insert an image</h2>
        <p><label for="image-dialog-file">Image file</label>
           <input type="file" id="image-dialog-file" name="file" accept="image/jpeg,image/png,image/gif,image/webp"></p>
        <p><label for="image-dialog-alt">Alt text: what the image shows, for people who cannot see it</label>
           <input type="text" id="image-dialog-alt" name="alt" maxlength="200" autocomplete="off"></p>
        <p class="help">JPEG, PNG, GIF or WebP. Engage makes it fit an email (at most 1200 px wide) and removes its metadata.</p>
        <ul class="errorlist" role="alert"></ul>
        <p><button type="submit" class="button default">Upload and insert</button>
           <button type="button" class="button" data-cancel>Cancel</button></p>
      </form>`;
    document.body.appendChild(dialog);
    dialog.querySelector("[data-cancel]").addEventListener("click", () => dialog.close());
    dialog.querySelector("form").addEventListener("submit", upload);
    dialog.querySelector("form").addEventListener("change", () => showErrors([]));
    return dialog;
  }

  function openImageDialog(editor, file) {
    target = editor;
    const box = imageDialog();
    box.querySelector("form").reset();
    showErrors([]);
    if (file) {
      const files = new DataTransfer();
      files.items.add(file);
      box.querySelector("#image-dialog-file").files = files.files;
    }
    box.showModal();
    box.querySelector(file ? "#image-dialog-alt" : "#image-dialog-file").focus();
  }

  function showErrors(messages) {
    const list = dialog.querySelector(".errorlist");
    list.replaceChildren(
      ...messages.map((message) => {
        const item = document.createElement("li");
        item.textContent = message;
        return item;
      })
    );
  }

  async function upload(event) {
    event.preventDefault();
    const form = event.target;
    const file = form.elements.file.files[0];
    const alt = form.elements.alt.value.trim();
    const missing = [];
    if (!file) missing.push("Choose an image file.");
    if (!alt) missing.push("Describe the image for people who cannot see it.");
    if (missing.length) return showErrors(missing);
    const body = new FormData();
    body.append("file", file);
    body.append("alt", alt);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch(target.element.dataset.uploadUrl, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": csrfToken() },
        credentials: "same-origin",
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        const errors = Object.values(answer.errors || {}).flat();
        return showErrors(errors.length ? errors : [`The upload failed (${response.status}).`]);
      }
      const cm = target.codemirror;
      const line = cm.getCursor().line;
      // An image on a line of its own: a paragraph in the email.
      const before = cm.getLine(line).trim() ? "\n\n" : "";
      cm.replaceSelection(`${before}${answer.markdown}\n`);
      dialog.close();
      cm.focus();
    } catch (error) {
      showErrors([`The upload failed: ${error.message}`]);
    } finally {
      button.disabled = false;
    }
  }

  // --- Markdown editors -----------------------------------------------------------------------

  const TOOLBAR = [
    { name: "bold", action: EasyMDE.toggleBold, icon: "<b>B</b>", title: "Bold" },
    { name: "italic", action: EasyMDE.toggleItalic, icon: "<i>I</i>", title: "Italic" },
    { name: "heading-2", action: EasyMDE.toggleHeading2, icon: "H", title: "Heading" },
    "|",
    { name: "quote", action: EasyMDE.toggleBlockquote, icon: "“”", title: "Quote" },
    { name: "unordered-list", action: EasyMDE.toggleUnorderedList, icon: "• Bulleted", title: "Bulleted list" },
    { name: "ordered-list", action: EasyMDE.toggleOrderedList, icon: "Numbered", title: "Numbered list" },
    "|",
    { name: "link", action: EasyMDE.drawLink, icon: "Link", title: "Link" },
    { name: "image", action: (editor) => openImageDialog(editor), icon: "Image…", title: "Upload an image" },
    "|",
    { name: "guide", action: "https://www.markdownguide.org/basic-syntax/", icon: "?", title: "How to write Markdown" },
  ];

  function startEditor(textarea) {
    const label = document.querySelector(`label[for="${textarea.id}"]`);
    const editor = new EasyMDE({
      element: textarea,
      forceSync: true, // the textarea holds the text: the form and the preview read it
      autoDownloadFontAwesome: false, // no CDN: the toolbar is text
      spellChecker: false, // its dictionaries come from a CDN; the browser's own checks instead
      nativeSpellcheck: true,
      status: false,
      toolbar: TOOLBAR,
      minHeight: textarea.rows > 6 ? "240px" : "100px",
      uploadImage: true,
      // A dropped or pasted image: ask for its alt text first.
      imageUploadFunction: (file) => openImageDialog(editor, file),
    });
    editor.element = textarea;
    const input = editor.codemirror.getInputField();
    input.setAttribute("aria-label", label ? label.textContent.replace(/:$/, "") : textarea.name);
    if (label) label.addEventListener("click", () => editor.codemirror.focus());
    editor.toolbarElements &&
      Object.values(editor.toolbarElements).forEach((button) => (button.tabIndex = 0));
    editor.codemirror.on("change", () => textarea.dispatchEvent(new Event("input", { bubbles: true })));
    editors.push(editor);
  }

  // --- The email preview beside the form ------------------------------------------------------

  function startPreview(panel) {
    const form = document.getElementById(panel.dataset.form);
    if (!form) return;
    const frame = panel.querySelector("iframe");
    const status = panel.querySelector("[data-status]");
    const warnings = panel.querySelector("[data-warnings]");
    let timer = null;
    let running = null;

    function say(text, problems = []) {
      status.textContent = text;
      warnings.replaceChildren(
        ...problems.map((problem) => {
          const item = document.createElement("li");
          item.textContent = problem;
          return item;
        })
      );
    }

    async function refresh() {
      if (running) running.abort();
      running = new AbortController();
      panel.setAttribute("aria-busy", "true");
      try {
        const response = await fetch(panel.dataset.url, {
          method: "POST",
          body: new FormData(form),
          headers: { "X-CSRFToken": csrfToken() },
          credentials: "same-origin",
          signal: running.signal,
        });
        const answer = await response.json().catch(() => ({}));
        if (!response.ok) {
          const errors = Object.entries(answer.errors || {}).map(([field, found]) => `${field}: ${found.join(" ")}`);
          say(`The preview cannot be shown (${response.status}).`, errors);
          return;
        }
        frame.srcdoc = answer.html || "";
        const size = answer.size ? ` · ${Math.ceil(answer.size / 1024)} KB` : "";
        say(answer.html ? `Subject: ${answer.subject}${size}` : answer.empty || "", answer.warnings || []);
        if (answer.audience) showAudience(answer.audience);
        panel.dataset.rendered = String(Number(panel.dataset.rendered || 0) + 1);
      } catch (error) {
        if (error.name !== "AbortError") say(`The preview cannot be shown: ${error.message}`);
      } finally {
        panel.removeAttribute("aria-busy");
      }
    }

    // Who the campaign goes to as composed: beside the preview, and in the form's "audience now"
    // (which, before the first save, has nothing else to show).
    function showAudience(sentence) {
      const beside = panel.querySelector("[data-audience]");
      beside.textContent = sentence;
      beside.hidden = false;
      const inForm = form.querySelector(".field-audience_size .readonly");
      if (inForm) inForm.textContent = sentence;
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 500);
    }

    form.addEventListener("input", later);
    form.addEventListener("change", later);
    // The post picker is Django's autocomplete (select2, through django.jQuery): it announces a
    // choice with jQuery's "change", which no native listener hears.
    if (window.django && window.django.jQuery) {
      window.django.jQuery(form).on("change select2:select select2:unselect select2:clear", later);
    }
    // An inline row added or removed (Django's formset events) changes the posts too.
    document.addEventListener("formset:added", later);
    document.addEventListener("formset:removed", later);
    refresh();
  }

  // --- Event fields only for events -----------------------------------------------------------

  function startKindSwitch() {
    const kind = document.getElementById("id_kind");
    const fieldsets = document.querySelectorAll("fieldset.event-fields");
    if (!kind || !fieldsets.length) return;
    const apply = () => fieldsets.forEach((fieldset) => (fieldset.hidden = kind.value !== "event"));
    kind.addEventListener("change", apply);
    apply();
  }

  function start() {
    document.querySelectorAll("textarea[data-markdown-editor]").forEach(startEditor);
    document.querySelectorAll("[data-live-preview]").forEach(startPreview);
    startKindSwitch();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
