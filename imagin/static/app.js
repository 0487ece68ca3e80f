// What HTMX cannot do on its own.
"use strict";

// The sign-in form (hx-boost) is answered with the whole page signed in to (auth/boosted.py);
// htmx swaps the content of its <body> and its title, not the rest. Here the rest: the
// <body>'s CSRF header (the session is new, so is its token) and the page's stylesheets,
// which the sign-in page did not link (its frame's sheet is inline) but prefetched.
(function () {
  function linked(href) {
    var links = document.head.querySelectorAll("link[rel=stylesheet]");
    for (var i = 0; i < links.length; i += 1) {
      if (links[i].getAttribute("href") === href) return links[i];
    }
    return null;
  }

  function link(href, media) {
    var sheet = document.createElement("link");
    sheet.rel = "stylesheet";
    sheet.href = href;
    if (media) sheet.media = media;
    document.head.appendChild(sheet);
    return sheet;
  }

  // At the click, the prefetched sheets are read from the cache, for print only (the
  // sign-in page stays as it is): loaded when the answer comes, the swap only turns them
  // on, and its first frame is styled.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!event.detail.boosted) return;
    document.head.querySelectorAll("link[rel=prefetch][as=style]").forEach(function (prefetched) {
      var href = prefetched.getAttribute("href");
      if (!linked(href)) link(href, "print").dataset.standby = "";
    });
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!event.detail.boosted || !event.detail.shouldSwap) return;
    var page = new DOMParser().parseFromString(event.detail.serverResponse, "text/html");
    var headers = page.body.getAttribute("hx-headers");
    if (!headers) return; // a fragment, not a page
    document.body.setAttribute("hx-headers", headers);
    page.head.querySelectorAll("link[rel=stylesheet]").forEach(function (sheet) {
      var href = sheet.getAttribute("href");
      var media = sheet.getAttribute("media");
      var present = linked(href) || link(href, media);
      if (media) present.media = media;
      else present.removeAttribute("media");
      delete present.dataset.standby;
    });
    // The sign-in page again (a refusal): the sheets waiting for a page are not kept.
    document.head.querySelectorAll("link[data-standby]").forEach(function (sheet) {
      sheet.remove();
    });
  });
})();

// Back to a page that now redirects (the sign-in page, once signed in): htmx shows where
// the redirect led; the address bar says so too.
document.addEventListener("htmx:historyCacheMissLoad", function (event) {
  var xhr = event.detail.xhr;
  if (!xhr || !xhr.responseURL) return;
  var url = new URL(xhr.responseURL);
  if (url.origin !== location.origin) return;
  if (url.pathname + url.search !== location.pathname + location.search) {
    history.replaceState({ htmx: true }, "", url.pathname + url.search);
  }
});

// Arrow-key movement between tabs (WAI-ARIA tabs pattern).
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

// After a refused form (422) swapped in, the first field in error gets the focus.
document.addEventListener("htmx:afterSettle", function (event) {
  var xhr = event.detail.xhr;
  var scope = event.detail.target;
  if (!xhr || xhr.status !== 422 || !scope) return;
  // An outerHTML swap replaced the target: look in its successor, found by its id.
  if (!scope.isConnected && scope.id) scope = document.getElementById(scope.id);
  var invalid = scope && scope.querySelector("[aria-invalid=true]");
  if (invalid && invalid !== document.activeElement) invalid.focus();
});

// The leg being edited: Escape is its "Annuler". Once a new leg's row is gone (Annuler,
// Escape), the focus goes back to "Ajouter un trajet", not to the top of the page.
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") return;
  var form = event.target.closest && event.target.closest(".leg-form, .links-form");
  var cancel = form && form.querySelector(".leg-form__cancel, .links-form__cancel");
  if (!cancel) return;
  event.preventDefault();
  cancel.click();
});
// A new leg's row holds nothing stored: Annuler removes it here, without asking the
// server (captured before htmx's own listener), and gives the focus back.
document.addEventListener(
  "click",
  function (event) {
    var cancel = event.target.closest && event.target.closest(".leg-form__cancel");
    var row = cancel && cancel.closest("tr");
    if (!row || !/^leg-new-/.test(row.id)) return;
    event.preventDefault();
    event.stopPropagation();
    row.remove();
    var add = document.getElementById("legs-add");
    if (add) add.focus();
  },
  true
);

// Supporting documents: each chosen file gets its own row, with its own choice of what it
// justifies (the next receipt still to provide comes checked), and is sent on its own
// request with its progress bar, so one slow or refused file does not hold the others back;
// a photo too big for a slow line is made smaller first. Without this script the form sends
// every file at once, all justifying what its checkboxes say.
(function () {
  var MAX_SIDE = 2500; // px: enough to read a receipt, a fraction of a phone photo's weight
  var JPEG_QUALITY = 0.85;
  var PARALLEL = 2; // a slow line is shared: a small queue, not every file at once
  var waiting = [];
  var sending = 0;

  // Browsers that can hand a file to a form field get one row and one request per file.
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

  function message(row) {
    return row.querySelector(".upload__message");
  }

  function say(row, text, isError) {
    var element = message(row);
    element.textContent = text;
    element.classList.toggle("field__error", !!isError);
  }

  function failed(row, text) {
    row.classList.remove("upload--pending", "upload--sending");
    row.classList.add("upload--failed");
    if (text) say(row, text, true);
  }

  function next() {
    while (sending < PARALLEL && waiting.length) {
      var row = waiting.shift();
      if (!row.isConnected) continue;
      sending += 1;
      row.classList.remove("upload--pending");
      row.classList.add("upload--sending");
      say(row, message(row).dataset.sending);
      htmx.trigger(row.querySelector(".upload__form"), "submit");
    }
  }

  // What a new row justifies at first: the next receipt still to provide that no row
  // waiting to be sent has taken yet.
  function firstChoice(section, template) {
    var uncovered = (template.dataset.uncovered || "").split(" ").filter(Boolean);
    var taken = Array.prototype.map.call(
      section.querySelectorAll(".upload--pending input[name=receipts]:checked"),
      function (box) { return box.value; }
    );
    return uncovered.filter(function (value) { return taken.indexOf(value) < 0; })[0];
  }

  function add(uploadForm, file) {
    var section = uploadForm.closest("section");
    var template = section.querySelector("template.upload-form__row");
    var row = template.content.firstElementChild.cloneNode(true);
    var choice = firstChoice(section, template);
    row.querySelector(".upload__name").textContent = file.name;
    Array.prototype.forEach.call(row.querySelectorAll("input[name=receipts]"), function (box) {
      box.checked = box.value === choice;
    });
    row.classList.add("upload--pending");
    section.querySelector(".documents").appendChild(row);
    htmx.process(row);
    var maxBytes = Number(uploadForm.dataset.maxBytes);
    row.ready = shrink(file, maxBytes).then(function (ready) {
      if (ready.size > maxBytes) {
        failed(row, message(row).dataset.tooBig);
        return false;
      }
      row.querySelector(".upload__name").textContent = ready.name;
      var files = new DataTransfer();
      files.items.add(ready);
      row.querySelector("input[type=file]").files = files.files;
      return true;
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

  // "Envoyer les documents": every row waiting is sent, each with its own choice.
  document.addEventListener("submit", function (event) {
    var uploadForm = event.target.closest && event.target.closest(".upload-form");
    if (!uploadForm) return;
    event.preventDefault();
    var section = uploadForm.closest("section");
    Array.prototype.forEach.call(section.querySelectorAll(".upload--pending"), function (row) {
      row.classList.remove("upload--pending");
      row.classList.add("upload--sending");
      row.ready.then(function (ok) {
        if (!ok) return;
        waiting.push(row);
        next();
      });
    });
  });

  // "Retirer": a row waiting to be sent, or one whose upload failed, leaves the list.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".upload__dismiss");
    if (!button) return;
    var row = button.closest(".upload");
    var section = row.closest("section");
    row.remove();
    var input = section && section.querySelector(".upload-form input[type=file]");
    if (input) input.focus();
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var progress = event.target.querySelector && event.target.querySelector(".upload__progress");
    if (!progress || !event.detail.lengthComputable || !event.detail.total) return;
    // Upload and download both report progress: the bar only moves forward.
    var percent = Math.round((100 * event.detail.loaded) / event.detail.total);
    progress.value = Math.max(progress.value, percent);
  });

  // Once per request, after the swap: the document's row replaced this one (success), or
  // the server's reason (or its offer to link the same file already sent) is in it.
  document.addEventListener("htmx:afterRequest", function (event) {
    // requestConfig.elt: once the row is swapped out, htmx announces the end of the
    // request from the list, and detail.elt is then the list, not the form.
    var form = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!form || !form.matches || !form.matches(".upload__form")) return;
    sending -= 1;
    if (form.isConnected) {
      var row = form.parentNode;
      // No answer (network), or an error shown at the top of the page (500).
      var shown = row.querySelector(".upload__message.field__error, .upload__offer");
      failed(row, shown ? null : message(row).dataset.failed);
    }
    next();
  });
})();
