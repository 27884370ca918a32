// Ask before submitting forms marked with data-confirm (deactivate, reset password, delete leave).
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
