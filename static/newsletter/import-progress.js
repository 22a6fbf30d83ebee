// The import page's progress bar, kept up to date from the import's JSON; the page reloads for
// the result once the import has finished. Without JavaScript the page refreshes itself instead.
(function () {
  "use strict";
  const bar = document.getElementById("import-progress");
  if (!bar) {
    return;
  }
  const text = document.getElementById("import-progress-text");

  async function poll() {
    try {
      const response = await fetch(bar.dataset.url, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const figures = await response.json();
        bar.max = Math.max(figures.rows_total, 1);
        bar.value = figures.rows_done;
        bar.textContent = `${figures.percent}%`;
        text.textContent = `${figures.rows_done} of ${figures.rows_total} rows (${figures.percent}%)`;
        if (figures.finished) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // The server is away for a moment: the next poll tries again.
    }
    window.setTimeout(poll, 1000);
  }

  window.setTimeout(poll, 500);
})();
