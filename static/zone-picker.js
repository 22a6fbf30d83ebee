// The time-zone picker: a search field over the grouped list (select[data-zone-picker]). Typing
// "London" offers "London, Europe"; choosing it sets the list. Without JavaScript the grouped
// list works alone. With no zone chosen yet (data-browser-zone), the browser's own is chosen.
(function () {
  document.querySelectorAll("select[data-zone-picker]").forEach(function (select, n) {
    var options = Array.prototype.slice.call(select.options);
    if (select.hasAttribute("data-browser-zone")) {
      var zone = "";
      try {
        zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
      } catch (error) {}
      if (options.some(function (o) { return o.value === zone; })) select.value = zone;
    }
    var id = "zone-search-" + n;
    var box = document.createElement("div");
    box.className = "zone-search";
    box.innerHTML =
      '<label for="' + id + '">Find your time zone by city or region</label>' +
      '<input type="search" id="' + id + '" list="' + id + '-list" autocomplete="off">' +
      '<datalist id="' + id + '-list"></datalist>' +
      '<p class="zone-found" role="status" aria-live="polite"></p>';
    var list = box.querySelector("datalist");
    options.forEach(function (o) {
      var item = document.createElement("option");
      item.value = o.text;
      list.appendChild(item);
    });
    select.parentNode.insertBefore(box, select);
    var search = box.querySelector("input");
    var found = box.querySelector(".zone-found");
    function choose() {
      var typed = search.value.trim().toLowerCase();
      if (!typed) return;
      var exact = options.filter(function (o) { return o.text.toLowerCase() === typed; });
      var starts = options.filter(function (o) { return o.text.toLowerCase().indexOf(typed) === 0; });
      var pick = exact[0] || (starts.length === 1 ? starts[0] : null);
      if (pick) {
        select.value = pick.value;
        found.textContent = "Time zone chosen: " + pick.text + ".";
      } else {
        found.textContent = starts.length ? starts.length + " places match: keep typing or pick one." : "No place matches.";
      }
    }
    search.addEventListener("change", choose);
    search.addEventListener("input", choose);
    // Enter in the search chooses; it does not send the form.
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        choose();
      }
    });
  });
})();
