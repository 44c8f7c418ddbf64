// Keyboard shortcuts for the moderation queue. Every action is a plain form, so the page works
// without this script; the keys only move the selection and submit those forms. Single-key
// shortcuts can be turned off (kept in this browser), and every decision can be undone for 10 s.
(function () {
  "use strict";
  var items = Array.prototype.slice.call(document.querySelectorAll("article.item"));
  var help = document.getElementById("help");
  var toggle = document.querySelector(".help-toggle");
  var undo = document.querySelector("form.undo");
  var current = -1;
  var STORE = "townsquare.shortcuts";

  function shortcutsOn() {
    try { return localStorage.getItem(STORE) !== "off"; } catch (e) { return true; }
  }

  function showHelp(show) {
    if (!help) return;
    help.hidden = !show;
    if (toggle) toggle.setAttribute("aria-expanded", show ? "true" : "false");
  }

  function select(index) {
    if (!items.length) return;
    current = Math.max(0, Math.min(items.length - 1, index));
    items.forEach(function (el, i) { el.classList.toggle("selected", i === current); });
    items[current].focus({ preventScroll: true });
    items[current].scrollIntoView({ block: "nearest" });
  }

  function selected() { return current >= 0 ? items[current] : null; }

  function typing(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
      target.isContentEditable);
  }

  function submit(form) {
    if (form) (form.requestSubmit ? form.requestSubmit() : form.submit());
  }

  function open(item, selector, focus) {
    var details = item.querySelector(selector);
    if (!details) return;
    details.open = true;
    var field = details.querySelector(focus);
    if (field) field.focus();
  }

  function bulk(action) {
    var form = document.getElementById("bulk");
    if (!form || !document.querySelector('input[name="ids"]:checked')) return;
    form.querySelector('select[name="action"]').value = action;
    var reason = form.querySelector('input[name="reason"]');
    if (action === "reject" && !reason.value.trim()) { reason.focus(); return; }
    submit(form);
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") { event.target.blur(); if (current >= 0) items[current].focus(); }
      return;
    }
    if (!shortcutsOn()) return;
    var item = selected();
    switch (event.key) {
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "a": if (item) submit(item.querySelector("form.approve")); break;
      case "r": if (item) { var reason = item.querySelector('form.reject input[name="reason"]'); if (reason) reason.focus(); } break;
      case "e": if (item) open(item, "details.edit", "textarea"); break;
      case "b": if (item) open(item, "details.more", 'form.ban input[name="reason"]'); break;
      case "x": if (item) { var box = item.querySelector('input[name="ids"]'); box.checked = !box.checked; } break;
      case "A": bulk("approve"); break;
      case "R": bulk("reject"); break;
      case "u": if (undo) submit(undo); else return; break;
      case "?": showHelp(help && help.hidden); break;
      default: return;
    }
    event.preventDefault();
  });

  items.forEach(function (el, i) { el.addEventListener("click", function () { if (current !== i) select(i); }); });
  // Choosing a site filters the queue at once (no inline handler: the page's CSP allows none).
  var siteFilter = document.querySelector(".site-filter select");
  if (siteFilter) siteFilter.addEventListener("change", function () { submit(siteFilter.form); });
  if (toggle && help) toggle.addEventListener("click", function () { showHelp(help.hidden); });
  var on = document.getElementById("shortcuts-on");
  if (on) {
    on.checked = shortcutsOn();
    on.addEventListener("change", function () {
      try { localStorage.setItem(STORE, on.checked ? "on" : "off"); } catch (e) { /* private mode: this page only */ }
    });
  }
  // The undo is offered for 10 s, then the notice stays without it.
  if (undo) setTimeout(function () { undo.remove(); undo = null; }, 10000);
  if (items.length) select(0);

  // Comments held since this page was drawn: "N new in queue — refresh", without a reload.
  function followQueue() {
    var notice = document.querySelector(".queue-live");
    if (!notice || !window.EventSource) return;
    var shown = Number(notice.getAttribute("data-waiting"));
    new EventSource("/admin/queue-events").addEventListener("queue", function (e) {
      var more = JSON.parse(e.data).pending - shown;
      notice.firstChild.textContent = more + " new in queue — refresh";
      notice.hidden = more <= 0;
    });
  }
  followQueue();
})();
