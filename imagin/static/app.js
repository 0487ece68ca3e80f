// What HTMX cannot do: arrow-key movement between tabs (WAI-ARIA tabs pattern).
"use strict";
document.addEventListener("keydown", function (event) {
  var tab = event.target.closest && event.target.closest("[role=tab]");
  if (!tab) return;
  var tabs = Array.prototype.slice.call(tab.parentElement.querySelectorAll("[role=tab]"));
  var index = tabs.indexOf(tab);
  var next = null;
  if (event.key === "ArrowRight") next = tabs[(index + 1) % tabs.length];
  else if (event.key === "ArrowLeft") next = tabs[(index - 1 + tabs.length) % tabs.length];
  else if (event.key === "Home") next = tabs[0];
  else if (event.key === "End") next = tabs[tabs.length - 1];
  if (next) {
    event.preventDefault();
    next.focus();
  }
});

// After HTMX replaces the tabs, the clicked tab is gone: give focus to the new selected one.
document.addEventListener("htmx:afterSettle", function () {
  if (document.activeElement && document.activeElement !== document.body) return;
  var selected = document.querySelector("#mission-tabs [aria-selected=true]");
  if (selected) selected.focus();
});

// Supporting documents: each chosen file is sent on its own request, with its progress
// bar, so one slow or refused file does not hold the others back; a photo too big for
// a slow line is made smaller first. Without this script the form sends them all at once.
(function () {
  var MAX_SIDE = 2500; // px: enough to read a receipt, a fraction of a phone photo's weight
  var JPEG_QUALITY = 0.85;
  var PARALLEL = 2; // a slow line is shared: a small queue, not every file at once
  var waiting = [];
  var sending = 0;

  // Browsers that can hand a file to a form field get one request per file: the form's
  // own button, which sends them all at once, is then hidden by the stylesheet.
  if (!window.DataTransfer || !window.htmx) return;
  document.documentElement.classList.add("js-upload");

  function jpegName(name) {
    return name.replace(/\.[^.]*$/, "") + ".jpg";
  }

  // A smaller JPEG when the photo is over the size limit or larger than MAX_SIDE, else the file.
  function shrink(file, maxBytes) {
    if (!/^image\/(jpeg|png)$/.test(file.type) || !window.createImageBitmap) {
      return Promise.resolve(file);
    }
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var side = Math.max(bitmap.width, bitmap.height);
      if (file.size <= maxBytes && side <= MAX_SIDE) {
        bitmap.close();
        return file;
      }
      var scale = Math.min(1, MAX_SIDE / side);
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      var context = canvas.getContext("2d");
      context.fillStyle = "#fff"; // a transparent PNG would turn black in a JPEG
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          resolve(blob ? new File([blob], jpegName(file.name), { type: "image/jpeg" }) : file);
        }, "image/jpeg", JPEG_QUALITY);
      });
    }).catch(function () {
      return file; // not decodable here: the server says why
    });
  }

  function say(row, text, isError) {
    var message = row.querySelector(".upload__message");
    message.textContent = text;
    message.classList.toggle("field__error", !!isError);
  }

  function next() {
    while (sending < PARALLEL && waiting.length) {
      var row = waiting.shift();
      var form = row.querySelector("form");
      sending += 1;
      say(row, row.querySelector(".upload__message").dataset.sending);
      htmx.process(row);
      htmx.trigger(form, "submit");
    }
  }

  function add(uploadForm, file) {
    var section = uploadForm.closest("section");
    var template = section.querySelector("template.upload-form__row");
    var row = template.content.firstElementChild.cloneNode(true);
    row.querySelector(".upload__name").textContent = file.name;
    row.querySelector("input[name=receipt]").value = uploadForm.elements.receipt.value;
    section.querySelector(".documents").appendChild(row);
    var maxBytes = Number(uploadForm.dataset.maxBytes);
    shrink(file, maxBytes).then(function (ready) {
      if (ready.size > maxBytes) {
        say(row, row.querySelector(".upload__message").dataset.tooBig, true);
        row.classList.add("upload--failed");
        return;
      }
      row.querySelector(".upload__name").textContent = ready.name;
      var files = new DataTransfer();
      files.items.add(ready);
      row.querySelector("input[type=file]").files = files.files;
      waiting.push(row);
      next();
    });
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    var uploadForm = input.closest && input.closest(".upload-form");
    if (!uploadForm || input.type !== "file") return;
    Array.prototype.forEach.call(input.files, function (file) {
      add(uploadForm, file);
    });
    input.value = ""; // the same file may be chosen again
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var progress = event.target.querySelector && event.target.querySelector(".upload__progress");
    if (!progress || !event.detail.lengthComputable || !event.detail.total) return;
    // Upload and download both report progress: the bar only moves forward.
    var percent = Math.round((100 * event.detail.loaded) / event.detail.total);
    progress.value = Math.max(progress.value, percent);
  });

  // Once per request, after the swap: the document's row replaced the form (success), or
  // the server's reason is beside the file's name (refused).
  document.addEventListener("htmx:afterRequest", function (event) {
    // requestConfig.elt: once the row is swapped out, htmx announces the end of the
    // request from the list, and detail.elt is then the list, not the form.
    var form = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!form || !form.matches || !form.matches(".upload__form")) return;
    sending -= 1;
    if (form.isConnected) {
      var row = form.parentNode;
      row.classList.add("upload--failed");
      // No answer (network), or an error shown at the top of the page (500).
      var message = form.querySelector(".upload__message");
      if (!message.classList.contains("field__error")) say(row, message.dataset.failed, true);
    }
    next();
  });
})();
