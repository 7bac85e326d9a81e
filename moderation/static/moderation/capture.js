// The subject's capture page: camera preview, MediaRecorder, a chunk to the server about every second, the prompts
// the server reveals while recording, resume after a short drop. Plain JavaScript, no build step, no CDN.
(function () {
  "use strict";
  var root = document.getElementById("recorder");
  if (!root) return;
  var startButton = document.getElementById("start");
  var preview = document.getElementById("preview");
  var promptBox = document.getElementById("prompt");
  var message = document.getElementById("message");
  var partner = root.dataset.partner;
  var chunkBase = root.dataset.chunkUrl.replace(/0$/, "");
  // Formats in order of preference; the first the browser records is used (Safari: MP4, the others: WebM).
  var TYPES = ["video/webm;codecs=vp9,opus", "video/webm;codecs=vp8,opus", "video/webm",
               "video/mp4;codecs=avc1.42E01E,mp4a.40.2", "video/mp4"];

  var stream = null, recorder = null, key = null, resumeMs = 8000;
  // stopped: the recorder's stop event came, so its last chunk is already queued (the state turns "inactive" at
  // once, before that chunk arrives: finishing on the state alone would leave it behind).
  var queue = [], nextSeq = 0, sending = false, lastAck = 0, finished = false, stopping = false, stopped = false;

  function setState(state) { root.dataset.state = state; }
  function say(text, isError) {
    message.textContent = text;
    message.className = isError ? "notice" : "muted";
  }

  function pickType() {
    if (!window.MediaRecorder) return null;
    for (var i = 0; i < TYPES.length; i++) if (MediaRecorder.isTypeSupported(TYPES[i])) return TYPES[i];
    return "";
  }

  function post(url, body, type) {
    var headers = {"Content-Type": type || "application/json"};
    if (key) headers["X-Capture-Key"] = key;
    return fetch(url, {method: "POST", body: body, headers: headers, credentials: "omit", cache: "no-store"})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) { return {status: r.status, data: data}; });
      });
  }

  function errorCode(answer) { return answer.data && answer.data.error ? answer.data.error.code : ""; }

  function showPrompt(answer) {
    var p = answer.prompt;
    if (p) {
      promptBox.innerHTML = "";
      var text = document.createElement("span");
      text.textContent = p.text;
      var count = document.createElement("span");
      count.className = "count";
      count.textContent = " (" + p.index + " of " + p.of + ", " + Math.ceil(p.seconds_left) + " s left)";
      promptBox.appendChild(text);
      promptBox.appendChild(count);
      promptBox.dataset.kind = p.kind;
      promptBox.dataset.index = p.index;
    } else if (!answer.done) {
      promptBox.textContent = p === null && promptBox.dataset.index ? "Well done. Wait for the next instruction…"
                                                                     : "Recording. Look at the camera…";
      delete promptBox.dataset.kind;
    }
    if (answer.done && !stopping) stop();
  }

  function fail(text, state) {
    setState(state || "failed");
    say(text, true);
    if (recorder && recorder.state !== "inactive") { stopping = true; recorder.stop(); }
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    startButton.disabled = false;
    startButton.textContent = "Start again";
  }

  // Chunks go one at a time, in order; a failed send is retried until the server's resume window has passed.
  function pump() {
    if (sending || !queue.length) return;
    sending = true;
    var blob = queue[0], seq = nextSeq;
    post(chunkBase + seq, blob, "application/octet-stream").then(function (answer) {
      sending = false;
      if (answer.status === 200) {
        queue.shift();
        nextSeq = answer.data.next_seq;
        lastAck = Date.now();
        if (root.dataset.state === "reconnecting") { setState("recording"); say("Connection back.", false); }
        showPrompt(answer.data);
        if (!queue.length && stopped) maybeFinish();
        pump();
      } else if (errorCode(answer) === "capture_interrupted") {
        fail("The connection was lost for too long. Press “Start again” to record again; new words will be shown.");
      } else {
        fail((answer.data.error && answer.data.error.message) || "The recording could not be sent.");
      }
    }, function () {
      sending = false;
      // A second past the server's own limit: restarting earlier would be refused (the recording still resumable).
      if (Date.now() - lastAck > resumeMs + 1000) {
        fail("The connection was lost for too long. Check your connection and press “Start again”.");
        return;
      }
      setState("reconnecting");
      say("Connection lost — reconnecting…", true);
      setTimeout(pump, 1000);
    });
  }

  function maybeFinish() {
    if (finished || !stopped || queue.length || sending) return;
    finished = true;
    setState("finishing");
    promptBox.textContent = "Sending your recording…";
    post(root.dataset.finishUrl, "{}").then(function (answer) {
      if (answer.status === 200) {
        setState("sent");
        promptBox.textContent = "Thank you. Your recording was sent to " + partner + ". You can close this page.";
        say("", false);
      } else {
        fail((answer.data.error && answer.data.error.message) || "The recording could not be sent.");
      }
    }, function () { finished = false; setTimeout(maybeFinish, 1000); });
  }

  function stop() {
    stopping = true;
    if (recorder && recorder.state !== "inactive") recorder.stop();
  }

  function begin(mimeType) {
    return post(root.dataset.startUrl, JSON.stringify({mime_type: mimeType})).then(function (answer) {
      if (answer.status !== 200) {
        var code = errorCode(answer);
        if (code === "capture_link_used") throw new Error("This link was already used: each link records once.");
        if (code === "capture_link_unknown") throw new Error("This link is not valid or has expired.");
        throw new Error((answer.data.error && answer.data.error.message) || "The recording could not start.");
      }
      key = answer.data.upload_key;
      resumeMs = answer.data.resume_s * 1000;
      return answer.data;
    });
  }

  function record(mimeType) {
    recorder = mimeType ? new MediaRecorder(stream, {mimeType: mimeType}) : new MediaRecorder(stream);
    queue = []; nextSeq = 0; finished = false; stopping = false; stopped = false; lastAck = Date.now();
    recorder.ondataavailable = function (event) {
      if (event.data && event.data.size) { queue.push(event.data); pump(); }
    };
    recorder.onstop = function () {
      stopped = true;
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      if (!/^(failed|denied|nocamera)$/.test(root.dataset.state)) { stopping = true; maybeFinish(); }
    };
    recorder.start(1000);
    // On a phone the terms fill the screen: bring the instructions and the preview into view together.
    promptBox.scrollIntoView({block: "start", behavior: "smooth"});
    setState("recording");
    say("", false);
    promptBox.textContent = "Recording. Look at the camera…";
  }

  startButton.addEventListener("click", function () {
    startButton.disabled = true;
    say("", false);
    var mimeType = pickType();
    if (mimeType === null || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      fail("This browser cannot record video here. Open the link in a current Chrome, Firefox or Safari.");
      return;
    }
    var constraints = {audio: true, video: {facingMode: "user", width: {ideal: 640}, height: {ideal: 480}}};
    navigator.mediaDevices.getUserMedia(constraints).then(function (s) {
      stream = s;
      preview.srcObject = s;
      return begin(mimeType);
    }).then(function () { record(mimeType); }).catch(function (err) {
      var name = err && err.name;
      if (name === "NotAllowedError" || name === "SecurityError") {
        fail("Camera or microphone access was denied. Allow both for this page in your browser's settings, " +
             "then press “Start again”.", "denied");
      } else if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") {
        fail("No camera or microphone could be used. Connect one (or close apps that use it) and press “Start again”.",
             "nocamera");
      } else {
        fail(err && err.message ? err.message : "The recording could not start.");
      }
    });
  });
})();
