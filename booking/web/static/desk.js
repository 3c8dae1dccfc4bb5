/* The check-in page's camera: reads a booking code's QR code with BarcodeDetector where the
   browser has it (Chrome on Android, Safari 17+ ...). Without it the camera button stays
   hidden and the scanner or the keyboard is used; the page works without this script. */
(function () {
  "use strict";
  function start() {
    var button = document.getElementById("camera-scan");
    var form = document.getElementById("scan-form");
    if (!button || !form) return;
    var status = document.getElementById("camera-status");
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    button.hidden = false;
    var video = document.getElementById("camera");
    var stream = null;
    function stop() {
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
      video.hidden = true;
    }
    button.addEventListener("click", function () {
      if (stream) { stop(); return; }
      var detector;
      try { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); }
      catch (e) { status.textContent = button.dataset.unsupported; return; }
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false;
        video.play();
        function look() {
          if (!stream) return;
          detector.detect(video).then(function (codes) {
            if (codes.length) {
              form.elements.code.value = codes[0].rawValue;
              stop();
              form.submit();
            } else {
              window.requestAnimationFrame(look);
            }
          }).catch(function () { window.setTimeout(look, 300); });
        }
        look();
      }).catch(function () { status.textContent = button.dataset.unsupported; });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
