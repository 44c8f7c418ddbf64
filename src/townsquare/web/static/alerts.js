/* Townsquare news-alerts sign-up box. Place anywhere on a page:
 *   <div data-townsquare-alerts data-site="daily" data-channels="whatsapp email"></div>
 *   <script src="https://comments.example.org/static/alerts.js" async></script>
 * Optional: data-section="politics" (only that section's articles), data-title="…".
 * Only the channels the server can send on are offered (/api/v1/alerts/channels: no WhatsApp
 * without a WhatsApp account), with a note naming any left out. */
(function () {
  "use strict";
  var script = document.currentScript;
  var server = script && script.src ? new URL(script.src).origin : "";
  var LABELS = { email: "Email", whatsapp: "WhatsApp" };
  var CONSENT = "I agree to receive news alerts on WhatsApp.";
  var n = 0;

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
    var title = box.getAttribute("data-title") || "Receive News Alerts";
    // A title that names a channel left out would promise what the box cannot do.
    if (missing.some(function (m) { return title.toLowerCase().indexOf(m.toLowerCase()) >= 0; })) title = "Receive News Alerts";
    var channel = el("select", { id: id + "-ch", name: "channel" }, channels.map(function (c) { return el("option", { value: c }, [LABELS[c]]); }));
    var address = el("input", { id: id + "-to", name: "address", required: "" });
    var consent = el("input", { id: id + "-ok", type: "checkbox", name: "consent" });
    var consentRow = el("p", {}, [consent, " ", el("label", { for: id + "-ok" }, [CONSENT])]);
    var status = el("p", { role: "status", "aria-live": "polite" });
    var button = el("button", { type: "submit" }, ["Sign up"]);
    var form = el("form", { class: "ts-alerts" }, [
      el("strong", {}, [title]), " ",
      channels.length > 1 ? el("label", { for: id + "-ch" }, ["by "]) : "", channels.length > 1 ? channel : "", " ",
      el("label", { for: id + "-to", class: "ts-alerts-to" }), address, " ", button, consentRow, note, status
    ]);

    function sync() {
      var wa = channel.value === "whatsapp";
      address.type = wa ? "tel" : "email";
      address.placeholder = wa ? "+1 202 555 0143" : "you@example.org";
      address.setAttribute("aria-label", wa ? "Your WhatsApp number" : "Your email address");
      consentRow.hidden = !wa;
      consent.required = wa;
    }
    channel.addEventListener("change", sync);
    sync();

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      status.textContent = "…";
      fetch(server + "/api/v1/subscriptions", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          site: box.getAttribute("data-site"), kind: "news", channel: channel.value,
          address: address.value, section: box.getAttribute("data-section") || null, consent: consent.checked
        })
      }).then(function (r) {
        return r.json().then(function (d) {
          status.textContent = r.ok ? d.message : (d.detail || "Sign-up failed; please try again.");
          if (r.ok) { form.reset(); sync(); }
        });
      }).catch(function () {
        status.textContent = "Sign-up failed; please check your connection.";
      }).then(function () { button.disabled = false; });
    });
    box.replaceChildren(form);
  }

  var boxes = document.querySelectorAll("[data-townsquare-alerts]");
  if (!boxes.length) return;
  fetch(server + "/api/v1/alerts/channels").then(function (r) { return r.ok ? r.json() : { channels: ["email"] }; })
    .then(function (d) { return d.channels; }, function () { return ["email"]; })
    .then(function (offered) { boxes.forEach(function (box) { mount(box, offered); }); });
})();
