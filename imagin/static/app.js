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
