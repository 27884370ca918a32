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

// Exam countdown (the server's deadline decides; this only shows it).
(function () {
  var box = document.querySelector(".countdown[data-deadline]");
  if (!box) { return; }
  var deadline = Date.parse(box.getAttribute("data-deadline"));
  function tick() {
    var left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
    box.textContent = "剩余时间：" + Math.floor(left / 60) + " 分 " + (left % 60) + " 秒";
    if (left === 0) { box.textContent += "（时间到，请刷新页面查看成绩）"; }
  }
  tick();
  setInterval(tick, 1000);
})();
