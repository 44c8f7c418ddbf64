/* Townsquare news-alerts sign-up box. Place anywhere on a page:
 *   <div data-townsquare-alerts data-site="daily" data-channels="whatsapp email"></div>
 *   <script src="https://comments.example.org/static/alerts.js" async></script>
 * Optional: data-section="politics" (only that section's articles), data-title="…".
 * Only the channels the server can send on are offered (/api/v1/alerts/channels: no WhatsApp
 * without a WhatsApp account), with a note naming any left out. The box wears the comment
 * widget's styles (embed.css: light and dark, themable with the same --ts-* properties). */
(function () {
  "use strict";
  var script = document.currentScript;
  var server = script && script.src ? new URL(script.src).origin : "";
  var LABELS = { email: "Email", whatsapp: "WhatsApp" };
  var CONSENT = "I agree to receive news alerts on WhatsApp.";
  var TITLED = { email: " by email", whatsapp: " on WhatsApp" };
  var NAMED = /\s+(on|by|via)\s+(whatsapp|e-?mail)\s*$/i; // a channel the title ends with
  var n = 0;

  function styles() {
    if (!document.querySelector("link[href$='/embed.css'], link[href*='/static/embed.']")) {
      document.head.append(el("link", { rel: "stylesheet", href: server + "/embed.css" }));
    }
  }

  function el(tag, props, children) {
    var node = document.createElement(tag);
    for (var k in props) if (props[k] != null) node.setAttribute(k, props[k]);
    (children || []).forEach(function (c) { node.append(c); });
    return node;
  }

  function mount(box, offered) {
    var id = "ts-alerts-" + (++n);
    var wanted = (box.getAttribute("data-channels") || "email").split(/[\s,]+/).filter(function (c) { return LABELS[c]; });
    var channels = wanted.filter(function (c) { return offered.indexOf(c) >= 0; });
    var missing = wanted.filter(function (c) { return offered.indexOf(c) < 0; }).map(function (c) { return LABELS[c]; });
    var note = missing.length ? el("p", { class: "ts-alerts-note" }, [missing.join(" and ") + " alerts are not set up on this server."]) : "";
    if (!channels.length) { box.replaceChildren(note); return; }
    // The title follows the chosen channel: a channel it names is replaced by the one chosen.
    var title = (box.getAttribute("data-title") || "Receive News Alerts").replace(NAMED, "");
    var heading = el("h2", { class: "ts-h", id: id + "-h" }, [title]);
    var channel = el("select", { id: id + "-ch", name: "channel" }, channels.map(function (c) { return el("option", { value: c }, [LABELS[c]]); }));
    var address = el("input", { id: id + "-to", name: "address", required: "", "aria-describedby": id + "-st" });
    var addressLabel = el("label", { for: id + "-to" });
    var consent = el("input", { id: id + "-ok", type: "checkbox", name: "consent" });
    var consentRow = el("p", { class: "ts-check" }, [consent, el("label", { for: id + "-ok" }, [CONSENT])]);
    var status = el("p", { id: id + "-st", class: "ts-hint", role: "status", "aria-live": "polite" });
    var button = el("button", { type: "submit", class: "ts-btn ts-primary" }, ["Sign up"]);
    var form = el("form", { class: "ts-form ts-alerts", "aria-labelledby": id + "-h" }, [
      heading,
      el("div", { class: "ts-who" }, [
        channels.length > 1 ? el("div", { class: "ts-field" }, [el("label", { for: id + "-ch" }, ["Send alerts"]), channel]) : "",
        el("div", { class: "ts-field" }, [addressLabel, address])
      ]),
      consentRow, el("div", { class: "ts-buttons" }, [button]), note, status
    ]);

    function sync() {
      var wa = channel.value === "whatsapp";
      address.type = wa ? "tel" : "email";
      address.autocomplete = wa ? "tel" : "email";
      address.placeholder = wa ? "+1 202 555 0143" : "you@example.org";
      addressLabel.textContent = wa ? "Your WhatsApp number" : "Your email address";
      heading.textContent = title + TITLED[channel.value];
      consentRow.hidden = !wa;
      consent.required = wa;
    }

    function say(text, failed) {
      status.textContent = text;
      status.className = failed ? "ts-alert" : "ts-hint";
      status.setAttribute("role", failed ? "alert" : "status");
      if (failed) address.setAttribute("aria-invalid", "true"); else address.removeAttribute("aria-invalid");
    }
    channel.addEventListener("change", sync);
    sync();

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      say("Signing up…", false);
      fetch(server + "/api/v1/subscriptions", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          site: box.getAttribute("data-site"), kind: "news", channel: channel.value,
          address: address.value, section: box.getAttribute("data-section") || null, consent: consent.checked
        })
      }).then(function (r) {
        return r.json().then(function (d) {
          say(r.ok ? d.message : (d.detail || "Sign-up failed; please try again."), !r.ok);
          if (r.ok) { form.reset(); sync(); }
        });
      }).catch(function () {
        say("Sign-up failed; please check your connection.", true);
      }).then(function () { button.disabled = false; });
    });
    box.classList.add("ts");
    box.replaceChildren(form);
  }

  var boxes = document.querySelectorAll("[data-townsquare-alerts]");
  if (!boxes.length) return;
  styles();
  fetch(server + "/api/v1/alerts/channels").then(function (r) { return r.ok ? r.json() : { channels: ["email"] }; })
    .then(function (d) { return d.channels; }, function () { return ["email"]; })
    .then(function (offered) { boxes.forEach(function (box) { mount(box, offered); }); });
})();
