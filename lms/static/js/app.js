// Ask before submitting forms marked with data-confirm (deactivate, reset password, delete leave).
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// A ringing phone: count the seconds and rings since the customer's call started. The server decides
// (lms/rings.py: ring n begins at (n - 1) x the cadence's period, given by the page as data-period).
(function () {
  var ring = document.querySelector(".ringing[data-since]");
  if (!ring) { return; }
  var since = Date.parse(ring.getAttribute("data-since"));
  var period = parseFloat(ring.getAttribute("data-period"));
  var out = ring.querySelector(".ring-count");
  function tick() {
    var seconds = Math.max(0, Math.floor((Date.now() - since) / 1000));
    out.textContent = "，已响" + seconds + "秒（第" + (Math.floor(seconds / period) + 1) + "声）";
  }
  tick();
  setInterval(tick, 1000);
})();

// Exam countdown from the seconds the server said were left (the server's deadline decides).
(function () {
  var box = document.querySelector(".countdown[data-remaining]");
  if (!box) { return; }
  var deadline = Date.now() + 1000 * parseInt(box.getAttribute("data-remaining"), 10);
  function tick() {
    var left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
    box.textContent = "剩余时间：" + Math.floor(left / 60) + "分" + (left % 60) + "秒";
    if (left === 0) { box.textContent += "（时间到，请刷新页面查看成绩）"; }
  }
  tick();
  setInterval(tick, 1000);
})();

// Save an exam answer the moment it is given (the buttons save too, and without JavaScript).
(function () {
  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch || !window.FormData) { return; }
  var state = form.querySelector(".save-state");
  var timer = null;
  function save() {
    var data = new FormData(form);
    data.set("go", "stay");
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin" }).then(function (response) {
      if (state) { state.textContent = response.status === 204 ? "已自动保存" : "保存失败，请点下面的按钮保存"; }
      if (response.redirected) { window.location = response.url; }
    }).catch(function () { if (state) { state.textContent = "网络中断，答案尚未保存，请稍后点保存"; } });
  }
  form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(save, 300); });
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(save, 1200); });
})();

// Authoring: live Markdown preview and live YAML validation (the buttons work without this).
(function () {
  function post(url, form, extra) {
    var data = new FormData(form);
    Object.keys(extra || {}).forEach(function (k) { data.set(k, extra[k]); });
    return fetch(url, { method: "POST", body: data, credentials: "same-origin" });
  }
  function debounce(fn, ms) { var t; return function () { clearTimeout(t); t = setTimeout(fn, ms); }; }
  var body = document.querySelector("textarea[data-preview]");
  if (body) {
    var out = document.getElementById("preview");
    body.addEventListener("input", debounce(function () {
      post(body.getAttribute("data-preview"), body.form).then(function (r) { return r.text(); })
        .then(function (html) { out.innerHTML = html; });  // sanitised by the server (nh3)
    }, 400));
  }
  var yaml = document.querySelector("textarea[data-validate]");
  if (yaml) {
    var box = document.getElementById("problems");
    yaml.addEventListener("input", debounce(function () {
      post(yaml.getAttribute("data-validate"), yaml.form).then(function (r) { return r.json(); }).then(function (d) {
        box.textContent = "";
        if (!d.problems.length) { box.textContent = "检查通过"; box.className = "muted"; return; }
        box.className = "errors";
        d.problems.forEach(function (p) { var div = document.createElement("div"); div.textContent = p; box.appendChild(div); });
      });
    }, 700));
  }
  var test = document.getElementById("phrase-test");
  if (test) {
    test.addEventListener("submit", function (event) {
      event.preventDefault();
      var book = document.querySelector("#phrasebook-form textarea").value;
      post(test.action, test, { yaml_text: book }).then(function (r) { return r.json(); }).then(function (d) {
        document.getElementById("phrase-result").textContent = JSON.stringify(d, null, 1);
      });
    });
  }
})();

// Pickers of several (notice scope): 「全选」, a toggle per group, a filter for long lists, a count.
(function () {
  var FILTER_FROM = 12;  // items; a shorter list needs no filter
  Array.prototype.forEach.call(document.querySelectorAll("[data-picker]"), function (box) {
    var all = box.querySelector("[data-pick-all]");
    var items = Array.prototype.slice.call(box.querySelectorAll("[data-pick-item]"));
    var count = box.querySelector("[data-pick-count]");
    var noun = box.getAttribute("data-noun");
    function groupItems(toggle) {
      var found = [], node = toggle.closest(".pick-group").nextElementSibling;
      while (node && !node.classList.contains("pick-group")) {
        if (node.matches(".pick-item")) { found.push(node.querySelector("[data-pick-item]")); }
        node = node.nextElementSibling;
      }
      return found;
    }
    function mark(toggle, boxes) {
      var n = boxes.filter(function (i) { return i.checked; }).length;
      toggle.checked = boxes.length > 0 && n === boxes.length;
      toggle.indeterminate = n > 0 && n < boxes.length;
    }
    var groups = Array.prototype.slice.call(box.querySelectorAll("[data-pick-group]"));
    function refresh() {
      var n = items.filter(function (i) { return i.checked; }).length;
      mark(all, items);
      groups.forEach(function (g) { mark(g, groupItems(g)); });
      count.textContent = n === 0 || n === items.length ? "全部" + noun : "已选" + n + "个" + noun;
      box.dispatchEvent(new Event("picked", { bubbles: true }));
    }
    all.addEventListener("change", function () {
      items.forEach(function (i) { i.checked = all.checked; });
      refresh();
    });
    groups.forEach(function (g) {
      g.hidden = false;
      g.addEventListener("change", function () {
        groupItems(g).forEach(function (i) { i.checked = g.checked; });
        refresh();
      });
    });
    items.forEach(function (i) { i.addEventListener("change", refresh); });
    var filter = box.querySelector("[data-pick-filter]");
    if (filter && items.length >= FILTER_FROM) {
      filter.hidden = false;
      filter.addEventListener("input", function () {
        var word = filter.value.trim();
        items.forEach(function (i) { i.closest(".pick-item").hidden = word !== "" && i.parentNode.textContent.indexOf(word) < 0; });
      });
    }
    refresh();
  });
})();

// Notice form: the module's own practice questions as the check, and how many people the scope reaches.
(function () {
  var form = document.querySelector("form[data-audience]");
  if (!form) { return; }
  var module = form.querySelector("select[name=module_id]");
  var check = form.querySelector("select[name=check_category]");
  if (module && check) {
    module.addEventListener("change", function () {
      var suggested = module.selectedOptions.length ? module.selectedOptions[0].getAttribute("data-check") : "";
      if (suggested && !check.value) { check.value = suggested; }
    });
  }
  var reach = form.querySelector("[data-reach]");
  var timer = null;
  form.addEventListener("picked", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var query = new URLSearchParams();
      Array.prototype.forEach.call(form.querySelectorAll("[data-picker] input[type=checkbox][name]:checked"), function (i) {
        query.append(i.name, i.value);
      });
      fetch(form.getAttribute("data-audience") + "?" + query.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.json(); }).then(function (d) { reach.textContent = d.text; });
    }, 250);
  });
})();

// The top bar's 菜单 on a phone opens without a script (a checkbox); the keyboard opens it too.
(function () {
  var button = document.querySelector("header.site .menu-button");
  if (!button) { return; }
  button.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      var box = document.getElementById(button.getAttribute("for"));
      box.checked = !box.checked;
    }
  });
})();
