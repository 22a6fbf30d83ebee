// A sending campaign's progress refreshes itself (newsletter/admin/progress.py): each live block
// fetches its fresh copy every few seconds and stops once the campaign is no longer live. The
// block itself stays (it is an aria-live region): only its contents change, and only when they
// differ, so a screen reader hears each change once.
"use strict";
(function () {
  function watch(block) {
    if (block.dataset.live !== "true") return;
    window.setTimeout(async function () {
      try {
        const response = await fetch(block.dataset.url, { credentials: "same-origin" });
        if (response.status >= 400 && response.status < 500) return; // signed out, or gone
        if (response.ok) {
          const holder = document.createElement("div");
          holder.innerHTML = await response.text();
          const fresh = holder.firstElementChild;
          if (fresh.innerHTML !== block.innerHTML) block.innerHTML = fresh.innerHTML;
          block.dataset.live = fresh.dataset.live;
          // The page's read-only Status field, so it never says "Scheduled" beside the counts.
          const status = document.querySelector(".field-status .readonly");
          if (status && fresh.dataset.status && status.textContent !== fresh.dataset.status) {
            status.textContent = fresh.dataset.status;
          }
        }
      } catch (error) {
        // The network or the server blinked: ask again next time.
      }
      watch(block);
    }, 1000 * Number(block.dataset.every || 3));
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".engage-progress-live").forEach(watch);
  });
})();
