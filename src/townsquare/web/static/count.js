/* Townsquare comment counts for article lists, in one request:
 *   <script src="https://comments.example.org/count.js" data-site="daily" async></script>
 *   <a href="/story"><span data-townsquare-count="/story">…</span></a>
 * Each marked element gets "N comments" in the page's language (data-lang overrides). */
(() => {
  "use strict";
  const me = document.currentScript || document.querySelector("script[data-site][src*='count.js']");
  if (!me) return;
  const WORDS = {
    en: { one: "{n} comment", other: "{n} comments" },
    fr: { one: "{n} commentaire", other: "{n} commentaires" },
    ru: { one: "{n} комментарий", few: "{n} комментария", other: "{n} комментариев" },
  };
  const run = () => {
    const marked = [...document.querySelectorAll("[data-townsquare-count]")];
    if (!marked.length) return;
    const lang = [me.dataset.lang, document.documentElement.lang, navigator.language]
      .map((l) => String(l || "").slice(0, 2).toLowerCase())
      .find((l) => WORDS[l]) || "en";
    const rules = new Intl.PluralRules(lang);
    const label = (n) => {
      const forms = WORDS[lang];
      return (forms[rules.select(n)] || forms.other).replace("{n}", n.toLocaleString(lang));
    };
    const uris = [...new Set(marked.map((e) => e.dataset.townsquareCount))];
    fetch(new URL(me.src, location.href).origin + "/api/v1/counts", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ site: me.dataset.site, uris }),
    })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error("counts: HTTP " + r.status))))
      .then((data) => {
        for (const e of marked) e.textContent = label(data.counts[e.dataset.townsquareCount] || 0);
      })
      .catch((err) => console.warn("Townsquare", err)); // leave the publisher's placeholder text
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
