// Spoken practice: record the microphone, turn it into a 16 kHz mono 16-bit WAV here in the browser,
// upload it, and show the figures the server measured (an HTML fragment it renders).
// The phone drill (data-ring="on off") plays the ring with Web Audio from the moment recording starts.
// Every .speech-recorder on the page gets its own recorder (the page may include this script more than once).
(function () {
  "use strict";
  var script = document.currentScript;
  var workletUrl = script && script.getAttribute("data-worklet");
  var boxes = document.querySelectorAll(".speech-recorder");
  for (var b = 0; b < boxes.length; b++) {
    if (!boxes[b].getAttribute("data-ready")) {
      boxes[b].setAttribute("data-ready", "1");
      setup(boxes[b]);
    }
  }

  function setup(box) {
  var startButton = box.querySelector(".speech-start");
  var stopButton = box.querySelector(".speech-stop");
  var retryButton = box.querySelector(".speech-retry");
  var status = box.querySelector(".speech-status");
  var result = box.querySelector(".speech-result");
  var maxSeconds = parseInt(box.getAttribute("data-max"), 10) || 120;
  var ring = box.getAttribute("data-ring");
  var cadence = ring ? ring.split(" ").map(Number) : null;
  var ringMax = parseInt(box.getAttribute("data-ring-max"), 10) || 30;
  var TARGET = 16000;
  var session = null;

  function say(text) { status.textContent = text; }

  function micProblem(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "麦克风权限被拒绝：请在浏览器的网站设置里允许本网站使用麦克风，再点一次。文字练习（情景演练）不受影响。";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      return "没有找到麦克风：请接上耳麦或换用有麦克风的设备。文字练习（情景演练）不受影响。";
    }
    if (name === "NotReadableError") {
      return "麦克风正被其他程序占用，请关闭占用麦克风的程序后再试。";
    }
    return "无法打开麦克风（" + (name || "未知原因") + "）。文字练习（情景演练）不受影响。";
  }

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !(window.AudioContext || window.webkitAudioContext)) {
    startButton.disabled = true;
    say("此浏览器不能在本页使用麦克风：需要用HTTPS地址（或本机地址）打开，并使用新版Chrome或Safari。文字练习（情景演练）不受影响。");
    return;
  }
  // One microphone: while a recorder records or uploads (data-busy), every other recorder of the page
  // waits — its 录音 and its 重新上传 too. A recorder that is done may start only when none is busy.
  function othersWait(waiting) {
    if (waiting) { box.setAttribute("data-busy", "1"); } else { box.removeAttribute("data-busy"); }
    var blocked = !!document.querySelector(".speech-recorder[data-busy]");
    var recorders = document.querySelectorAll(".speech-recorder");
    for (var i = 0; i < recorders.length; i++) {
      if (recorders[i].hasAttribute("data-busy")) { continue; }  // its own buttons follow its own recording
      var buttons = recorders[i].querySelectorAll(".speech-start, .speech-retry");
      for (var j = 0; j < buttons.length; j++) { buttons[j].disabled = blocked; }
    }
  }

  // Box-filter resampling to 16 kHz: each output sample is the mean of the input samples it covers
  // (a simple low-pass, enough for measuring voice activity).
  function resample(chunks, rate) {
    var total = 0, i;
    for (i = 0; i < chunks.length; i++) { total += chunks[i].length; }
    var input = new Float32Array(total), at = 0;
    for (i = 0; i < chunks.length; i++) { input.set(chunks[i], at); at += chunks[i].length; }
    var ratio = rate / TARGET, n = Math.floor(total / ratio), out = new Int16Array(n);
    for (i = 0; i < n; i++) {
      var from = Math.floor(i * ratio), to = Math.max(from + 1, Math.floor((i + 1) * ratio)), sum = 0;
      for (var k = from; k < to && k < total; k++) { sum += input[k]; }
      var v = Math.max(-1, Math.min(1, sum / (to - from)));
      out[i] = v < 0 ? v * 32768 : v * 32767;
    }
    return out;
  }

  function wav(samples) {
    var buffer = new ArrayBuffer(44 + samples.length * 2), view = new DataView(buffer);
    function text(offset, s) { for (var i = 0; i < s.length; i++) { view.setUint8(offset + i, s.charCodeAt(i)); } }
    text(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVE");
    text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
    view.setUint32(24, TARGET, true); view.setUint32(28, TARGET * 2, true); view.setUint16(32, 2, true);
    view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, samples.length * 2, true);
    for (var i = 0; i < samples.length; i++) { view.setInt16(44 + i * 2, samples[i], true); }
    return new Blob([buffer], { type: "audio/wav" });
  }

  // The ring: a 450 Hz tone (the Chinese ringing tone) on for cadence[0] s, off for cadence[1] s.
  function startRing(ctx) {
    var osc = ctx.createOscillator(), gain = ctx.createGain(), t0 = ctx.currentTime, period = cadence[0] + cadence[1];
    osc.frequency.value = 450;
    gain.gain.setValueAtTime(0, t0);
    for (var t = 0; t < ringMax; t += period) {
      gain.gain.setValueAtTime(0.25, t0 + t);
      gain.gain.setValueAtTime(0, t0 + t + cadence[0]);
    }
    osc.connect(gain);
    gain.connect(ctx.destination);
    osc.start(t0);
    return { stop: function () { try { gain.gain.cancelScheduledValues(0); gain.gain.value = 0; osc.stop(); } catch (e) { /* stopped */ } } };
  }

  function ringing(seconds) { return cadence && (seconds % (cadence[0] + cadence[1])) < cadence[0] + 0.1; }

  function start() {
    result.innerHTML = "";
    pending = null;  // a recording not yet sent is given up for the new one
    retryButton.hidden = true;
    startButton.disabled = true;
    othersWait(true);
    say("正在打开麦克风……");
    // Safari on iPhone lets audio run only for a context made (or resumed) inside the tap itself, and
    // the microphone's permission prompt ends the tap: so the context is made before asking.
    var ctx;
    try {
      ctx = new (window.AudioContext || window.webkitAudioContext)();
    } catch (error) {  // e.g. too many audio contexts open in an older Safari
      giveUp(null, micProblem(error));
      return;
    }
    quietly(ctx.resume ? ctx.resume() : null);  // tried again below
    var s = null;  // this recording, once the microphone is open
    var constraints = { audio: { channelCount: 1, echoCancellation: !!cadence, noiseSuppression: false, autoGainControl: false } };
    navigator.mediaDevices.getUserMedia(constraints).then(function (stream) {
      s = { stream: stream, ctx: ctx, chunks: [], rate: ctx.sampleRate, stated: ctx.sampleRate, marks: [], samples: 0,
            voice: 0, quiet: 0, heard: false, done: false };
      session = s;
      // The microphone taken away mid-recording (a call, the headset unplugged, the permission withdrawn)
      // ends its track; Safari marks the context "interrupted" while a call, Siri, the lock screen or
      // another app has the audio, and may leave it stalled afterwards. What was recorded is then no
      // longer one reading or one answer: dropped, and the learner is told. An interruption that is
      // over within half a second (the context running again) lets the recording go on.
      stream.getAudioTracks().forEach(function (track) {
        track.addEventListener("ended", function () { interrupt(s); });
      });
      ctx.onstatechange = function () {
        if (ctx.state === "interrupted") {
          setTimeout(function () { if (ctx.state !== "running") { interrupt(s); } }, 500);
        }
      };
      // The audio never started (a context the browser keeps suspended: its resume() does not settle):
      // say so, rather than wait for ever.
      setTimeout(function () { if (!s.done && !s.started) { abandon(s, SILENT_INPUT); } }, NEVER_STARTED_MS);
      var source = ctx.createMediaStreamSource(stream);
      var mute = ctx.createGain();
      mute.gain.value = 0;
      mute.connect(ctx.destination);
      function take(block) {
        if (s.done) { return; }
        s.chunks.push(block);
        s.samples += block.length;
        s.marks.push([performance.now(), s.samples]);
        if (s.marks.length % 12 === 0) { s.rate = trueRate(s); }
        var seconds = s.samples / s.rate;
        if (cadence) { watchAnswer(s, block, seconds); }
        var limit = cadence ? ringMax : maxSeconds;
        if (seconds >= limit) { stop(); }
      }
      function begin() {
        if (s.done) { return; }  // given up meanwhile
        if (cadence) { s.ring = startRing(ctx); }
        s.started = true;
        keepScreenOn(s);
        stopButton.disabled = false;
        say(cadence ? "电话响了……" : "正在录音：请读出上面的文字，读完点「停止」。");
        // No sound at all after two seconds (a context the browser kept suspended, a muted input):
        // say so now rather than after the whole text has been read.
        setTimeout(function () { if (!s.done && s.samples === 0) { abandon(s, SILENT_INPUT); } }, 2000);
      }
      var ready = ctx.resume ? ctx.resume() : Promise.resolve();
      if (ctx.audioWorklet && window.AudioWorkletNode && workletUrl) {
        return ready.then(function () { return ctx.audioWorklet.addModule(workletUrl); }).then(function () {
          if (s.done) { return; }
          var node = new AudioWorkletNode(ctx, "speech-capture");
          node.port.onmessage = function (event) { take(event.data); };
          source.connect(node);
          node.connect(mute);
          s.node = node;
          begin();
        });
      }
      var processor = ctx.createScriptProcessor(4096, 1, 1);  // older Safari: no AudioWorklet
      processor.onaudioprocess = function (event) { take(new Float32Array(event.inputBuffer.getChannelData(0))); };
      source.connect(processor);
      processor.connect(mute);
      s.node = processor;
      return ready.then(begin);
    }).catch(function (error) {
      if (!s) {
        giveUp(ctx, micProblem(error));
      } else if (!s.done) {
        abandon(s, micProblem(error));  // the microphone was open: close it too
      }  // else given up already, and said why
    });
  }

  function quietly(promise) {
    if (promise && promise.catch) { promise.catch(function () { /* nothing to do */ }); }
  }

  // Nothing was recorded: free the audio, let the learner try again, and say why.
  function giveUp(ctx, message) {
    if (ctx) { closeQuietly(ctx); }
    othersWait(false);  // 录音 again, unless another recorder of the page is busy
    stopButton.disabled = true;
    say(message);
  }

  var NEVER_STARTED_MS = 6000;  // from the microphone's opening: time enough to load the audio worklet
  var SILENT_INPUT = "没有收到麦克风的声音，录音已停止：请再点一次「" + startButton.textContent + "」。若仍不行，请换用新版Chrome或Safari。文字练习（情景演练）不受影响。";

  function closeQuietly(ctx) {
    quietly(ctx.close ? ctx.close() : null);  // a promise, but not in older Safari
  }

  var INTERRUPTED = "录音被打断了（离开了本页、锁屏、来电或麦克风断开），这次不算：请再点一次「" + startButton.textContent + "」重新开始。";

  function interrupt(s) {
    if (s && !s.done) { abandon(s, INTERRUPTED); }
  }

  // Leaving the page (another app, the lock screen, another tab) while recording ends the recording:
  // a phone stops or mutes the microphone of a hidden page, and a gap would be measured as a pause.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { interrupt(session); }
  });

  // A phone locks its screen after as little as 30 s without a touch, and a locked screen ends the
  // recording (above): while it records, the page asks the screen to stay on (the Screen Wake Lock
  // API: Safari 16.4 and later, Chrome; elsewhere nothing happens, as before).
  function keepScreenOn(s) {
    if (!navigator.wakeLock || !navigator.wakeLock.request) { return; }
    navigator.wakeLock.request("screen").then(function (lock) {
      if (s.done) { quietly(lock.release()); } else { s.wakeLock = lock; }
    }, function () { /* refused (low battery, say): the screen may lock as usual */ });
  }

  function letScreenLock(s) {
    if (s.wakeLock) { quietly(s.wakeLock.release()); s.wakeLock = null; }
  }

  // End a recording that cannot go on, uploading nothing.
  function abandon(s, message) {
    s.done = true;
    letScreenLock(s);
    if (session === s) { session = null; }
    if (s.ring) { s.ring.stop(); }
    if (s.node) { s.node.disconnect(); }
    s.stream.getTracks().forEach(function (track) { track.stop(); });
    giveUp(s.ctx, message);
  }

  // The rate the samples really come at. An older Safari on an iPhone can run an audio context at a
  // rate other than the one its sampleRate states (a context made before the microphone opened, or
  // after a file of another rate played): every figure would then be off by that ratio. The blocks
  // come in real time, so their count over each stretch of WINDOW_MS tells the true rate (the median
  // of the stretches: a moment the page was busy delays a few blocks, not the count); when that is
  // clearly one of the usual rates and clearly not the stated one, the recording is read at it.
  var USUAL_RATES = [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000];
  var WINDOW_MS = 1500;
  function trueRate(s) {
    var marks = s.marks, rates = [], i, j = 0;
    for (i = 0; i < marks.length; i++) {
      while (j < marks.length && marks[j][0] - marks[i][0] < WINDOW_MS) { j++; }
      if (j === marks.length) { break; }
      rates.push((marks[j][1] - marks[i][1]) * 1000 / (marks[j][0] - marks[i][0]));
    }
    if (rates.length < 10) { return s.rate; }  // too short to tell: as it stands
    rates.sort(function (a, b) { return a - b; });
    var measured = rates[rates.length >> 1], nearest = USUAL_RATES[0];
    for (i = 1; i < USUAL_RATES.length; i++) {
      if (Math.abs(USUAL_RATES[i] - measured) < Math.abs(nearest - measured)) { nearest = USUAL_RATES[i]; }
    }
    var clear = Math.abs(nearest - measured) <= 0.03 * nearest;
    return clear && Math.abs(s.stated - measured) > 0.05 * s.stated ? nearest : s.stated;
  }

  // The drill stops ringing when the learner starts speaking, and stops recording after they finish.
  function watchAnswer(s, block, seconds) {
    var sum = 0;
    for (var i = 0; i < block.length; i++) { sum += block[i] * block[i]; }
    var loud = Math.sqrt(sum / block.length) > 0.02, dt = block.length / s.rate;
    if (!s.heard) {
      s.voice = loud && !ringing(seconds) ? s.voice + dt : 0;
      if (s.voice >= 0.15) { s.heard = true; if (s.ring) { s.ring.stop(); } say("已接听：请说完问候语。"); }
    } else {
      s.quiet = loud ? 0 : s.quiet + dt;
      if (s.quiet >= 1.5) { stop(); }
    }
  }

  function stop() {
    var s = session;
    if (!s || s.done) { return; }
    s.done = true;
    letScreenLock(s);
    session = null;
    stopButton.disabled = true;
    if (s.ring) { s.ring.stop(); }
    if (s.node) { s.node.disconnect(); }
    s.stream.getTracks().forEach(function (track) { track.stop(); });
    if (s.ctx.close) { s.ctx.close(); }
    var form = new FormData();
    form.append("csrf_token", box.querySelector("input[name=csrf_token]").value);
    form.append("recording", recordingName());
    form.append("audio", wav(resample(s.chunks, trueRate(s))), "recording.wav");
    upload(form);
  }

  // Each recording's name, sent with it: the server keeps a recording sent again (below) once.
  function recordingName() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }  // Safari 15.4+, Chrome 92+
    var name = Date.now().toString(16);  // an older browser: unique enough for one person's recordings
    for (var i = 0; i < 3; i++) { name += "-" + Math.floor(Math.random() * 0x100000000).toString(16); }
    return name;
  }

  // Send a recording. When the network fails on the way (or a gateway answers 5xx), the recording
  // stays on the page and 重新上传 sends it again: a moment without signal loses nothing.
  var pending = null;

  function upload(form) {
    pending = null;
    retryButton.hidden = true;
    startButton.disabled = true;
    othersWait(true);
    say("正在计算……");
    fetch(box.getAttribute("data-upload"), { method: "POST", body: form, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 413) { throw new Error("录音太长，超过了上传的大小限制，请分段朗读。"); }
        if (response.status >= 500) { throw new Error(""); }  // worth sending again
        if (response.status !== 200 && response.status !== 422) { throw new Error("上传失败（" + response.status + "），请刷新页面后再试。"); }
        return response.text();
      })
      .then(function (html) { result.innerHTML = html; say("点「" + startButton.textContent + "」再练一次。"); })  // rendered and escaped by the server
      .catch(function (error) {
        if (error && error.message && /[\u4e00-\u9fff]/.test(error.message)) { say(error.message); return; }
        pending = form;
        retryButton.hidden = false;
        say("录音还没有上传（网络中断或服务器忙）：点「重新上传」再试。录音只留在本页，离开本页或重新录音就没有了。");
      })
      .then(function () { othersWait(false); });
  }

  retryButton.addEventListener("click", function () {
    if (pending && !document.querySelector(".speech-recorder[data-busy]")) { upload(pending); }
  });
  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
  }
})();
