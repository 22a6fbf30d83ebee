// The join form's hidden time_zone field: the browser's own IANA zone, so emails sent "at 09:00
// in each reader's time zone" reach this reader at 09:00 where they are. Without JavaScript the
// field stays empty and the organisation's zone is used.
(function () {
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  document.querySelectorAll('input[type="hidden"][name="time_zone"]').forEach(function (field) {
    if (!field.value) field.value = zone;
  });
})();
