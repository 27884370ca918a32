// Ask before submitting forms marked with data-confirm (deactivate, reset password, delete leave).
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// A ringing phone: count the seconds since the customer's call started (the server measures too).
(function () {
  var ring = document.querySelector(".ringing[data-since]");
  if (!ring) { return; }
  var since = Date.parse(ring.getAttribute("data-since"));
  var out = ring.querySelector(".ring-count");
  function tick() {
    var seconds = Math.max(0, Math.floor((Date.now() - since) / 1000));
    out.textContent = "，已响 " + seconds + " 秒（约 " + (Math.floor(seconds / 3) + 1) + " 声）";
  }
  tick();
  setInterval(tick, 1000);
})();
