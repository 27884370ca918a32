// Question and exam forms: add answer rows, the learner's live preview, each draw rule's pool size.
// Everything works without this script (spare rows, the 预览 button, pool sizes after saving).
(function () {
  function debounce(fn, ms) {
    var t;
    return function () { var args = arguments; clearTimeout(t); t = setTimeout(function () { fn.apply(null, args); }, ms); };
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-rows]"), function (box) {
    var button = box.querySelector("[data-add-row]");
    if (!button) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var rows = box.querySelectorAll("[data-row]");
      var last = rows[rows.length - 1];
      var n = rows.length;
      var copy = last.cloneNode(true);
      Array.prototype.forEach.call(copy.querySelectorAll("[name]"), function (input) {
        input.name = input.name.replace(/^([rd])\d+-/, "$1" + n + "-");
        if (input.type === "radio") { input.value = String(n); input.checked = false; }
        else if (input.type === "checkbox") { input.checked = false; }
        else { input.value = ""; }
        input.removeAttribute("aria-invalid");
      });
      Array.prototype.forEach.call(copy.querySelectorAll(".errors"), function (e) { e.remove(); });
      Array.prototype.forEach.call(copy.querySelectorAll("[data-pool]"), function (e) { e.textContent = ""; });
      Array.prototype.forEach.call(copy.querySelectorAll("[placeholder], [aria-label]"), function (e) {
        ["placeholder", "aria-label"].forEach(function (a) {
          var v = e.getAttribute(a);
          if (v) { e.setAttribute(a, v.replace(/\d+/, String(n + 1))); }
        });
      });
      last.parentNode.insertBefore(copy, button);
      var first = copy.querySelector("input:not([type=radio]):not([type=checkbox])");
      if (first) { first.focus(); }
    });
  });

  var form = document.querySelector("form[data-preview-url]");
  var out = document.getElementById("preview");
  if (form && out) {
    var refresh = debounce(function () {
      fetch(form.getAttribute("data-preview-url"), { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) { out.innerHTML = html; } });  // rendered and escaped by the server
    }, 400);
    form.addEventListener("input", refresh);
    form.addEventListener("change", refresh);
  }

  var exam = document.querySelector("form[data-pool-url]");
  if (exam) {
    var show = function (input) {
      var row = input.closest("[data-row]");
      var box = row && row.querySelector("[data-pool]");
      if (!box) { return; }
      var category = input.value.trim();
      if (!category) { box.textContent = ""; return; }
      var essays = exam.querySelector("input[name=essays]");
      var url = exam.getAttribute("data-pool-url") + "?category=" + encodeURIComponent(category) +
        (essays && essays.checked ? "&essays=y" : "");
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
        box.textContent = "题库中可抽" + d.count + "道";
      });
    };
    var later = debounce(function (input) { show(input); }, 300);
    exam.addEventListener("input", function (event) {
      if (/^d\d+-category$/.test(event.target.name || "")) { later(event.target); }
    });
    exam.addEventListener("change", function (event) {
      if ((event.target.name || "") === "essays") {
        Array.prototype.forEach.call(exam.querySelectorAll("input[name$='-category']"), show);
      }
    });
  }
})();
