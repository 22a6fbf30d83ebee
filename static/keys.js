// Keys for readers who use a keyboard or a switch that sends Enter.
// - Enter on a checkbox or a radio button ticks it, as Space does, instead of sending the form
//   (a browser sends the form with the box as it was: no consent, no change, or the form's first
//   button). Without JavaScript the server side is safe too: see newsletter/views/signup.py.
// - After a form is sent, the page's result message takes the focus, so a screen reader reads it
//   and a switch user starts from it.
(function () {
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "Enter" || !(target instanceof HTMLInputElement)) return;
    if (target.type !== "checkbox" && target.type !== "radio") return;
    event.preventDefault();
    target.click();
  });
  var result = document.querySelector("[data-result]");
  if (result) {
    if (!result.hasAttribute("tabindex")) result.setAttribute("tabindex", "-1");
    result.focus();
  }
})();
