/* Townsquare comments widget. Plain JavaScript, no dependencies; see docs/embed.md.
 *
 * Safety rule: the only markup taken from the server is a comment's `html`, which the server
 * sanitised when the comment was written. Everything else (names, links, quotes) goes into the
 * page as text nodes or checked attributes.
 */
(() => {
  "use strict";
  const me = document.currentScript || document.querySelector("script[data-site][src*='embed.js']");
  if (!me) return;
  const BASE = new URL(me.src, location.href).origin;
  const API = BASE + "/api/v1";
  // A page that enforces Trusted Types allows this policy by name (`trusted-types townsquare`).
  let policy = null;
  try { policy = window.trustedTypes?.createPolicy("townsquare", { createHTML: (html) => html }); } catch { /* not allowed */ }
  const trusted = (html) => (policy ? policy.createHTML(html) : html);
  const MAX_LEVEL = 6; // deeper replies open in their own view ("continue this thread")
  const QUOTE_MAX = 300;
  const DEFAULT_EDIT_WINDOW = 900; // seconds; used when the server does not say (`edit_until`)

  const STRINGS = {
    en: {
      comments: "Comments", count: { one: "{n} comment", other: "{n} comments" },
      sort: "Sort by", oldest: "Oldest", newest: "Newest", top: "Top rated", replies: "Most replies",
      write: "Write a comment", text: "Your comment", hint: "Markdown works: *italic*, **bold**, [link](https://…), > quote.",
      name: "Name", email: "Email (optional, never shown)", website: "Website (optional)",
      notify: "Email me when someone replies", follow: "Follow this thread by email",
      post: "Post comment", postReply: "Post reply", postAnyway: "Post anyway", save: "Save", cancel: "Cancel",
      reply: "Reply", skip: "Skip past comments", quote: "Quote", edit: "Edit", del: "Delete", keep: "Keep",
      confirmDel: "Delete this comment for good?", replyTo: "Reply to {name}", quoted: "Quoted passage (shorten it if you like)",
      editing: "Edit your comment", pending: "Awaiting moderation: only you can see this comment.",
      rejected: "Not published: the moderators declined this comment.", because: "Reason: {reason}",
      deleted: "This comment was deleted.", edited: "edited", up: "Like", down: "Dislike", score: "Score",
      more: "Load more comments", moreReplies: { one: "Load {n} more reply", other: "Load {n} more replies" },
      moreRepliesAny: "Load more replies", continue: "Continue this thread", back: "Back to the full thread",
      hide: "Hide replies", show: { one: "Show {n} reply", other: "Show {n} replies" }, replyCount: { one: "{n} reply", other: "{n} replies" },
      posted: "Your comment was posted.", postedPending: "Your comment was sent and awaits moderation.",
      saved: "Your changes were saved.", removed: "Your comment was deleted.",
      loaded: { one: "{n} more comment loaded.", other: "{n} more comments loaded." },
      closed: "Comments are closed.", empty: "No comments yet. Start the conversation.",
      loadError: "Comments could not be loaded.", retry: "Try again", error: "Something went wrong. Please try again.",
      nudge: "Before you post: your comment {reason}. You can edit it, or post it anyway.", nudgeWords: "Words to look at:",
      nudgeAs: { insult: "may come across as an insult", identity_attack: "may read as an attack on a group of people",
        threat: "may read as a threat", toxicity: "may come across as hostile", profanity: "uses strong language" },
      following: "Check your inbox: follow the link we sent to start following this thread.", nudgeDefault: "may break the house rules", followOff: "Following threads is not available on this site.",
      anon: "Anonymous", votedHere: "A vote from this connection already counts on this comment.",
      verified: "verified reader", signedAs: "Signed in as {name}", signOut: "Sign out", signIn: "Sign in by email", mine: "My comments",
      send: "Send me a link", sent: "Check your inbox: the link we sent signs you in on this page.",
      fresh: { one: "{n} new comment — show", other: "{n} new comments — show" },
      picks: "Editors’ picks", pick: "Editor’s pick", pinned: "Pinned",
      report: "Report", reportWhy: "Why?", reasons: "Spam|Abuse|Hate|Harassment|Personal data|Off topic|Other",
      sendReport: "Send report", reported: "Thank you: the moderators will look at this comment.",
      keys: "Keyboard help", keysHelp: "↑ ↓ next and previous comment, → show replies, ← hide them or go to the parent, Home and End first and last comment, Tab the comment’s buttons.",
    },
    fr: {
      comments: "Commentaires", count: { one: "{n} commentaire", other: "{n} commentaires" },
      sort: "Trier par", oldest: "Plus anciens", newest: "Plus récents", top: "Mieux notés", replies: "Plus de réponses",
      write: "Écrire un commentaire", text: "Votre commentaire", hint: "Markdown accepté : *italique*, **gras**, [lien](https://…), > citation.",
      name: "Nom", email: "E-mail (facultatif, jamais affiché)", website: "Site web (facultatif)",
      notify: "Me prévenir par e-mail des réponses", follow: "Suivre cette discussion par e-mail",
      post: "Publier", postReply: "Répondre", postAnyway: "Publier quand même", save: "Enregistrer", cancel: "Annuler",
      reply: "Répondre", skip: "Passer les commentaires", quote: "Citer", edit: "Modifier", del: "Supprimer", keep: "Conserver",
      confirmDel: "Supprimer définitivement ce commentaire ?", replyTo: "Répondre à {name}", quoted: "Passage cité (vous pouvez le raccourcir)",
      editing: "Modifier votre commentaire", pending: "En attente de modération : vous seul voyez ce commentaire.",
      rejected: "Non publié : les modérateurs ont refusé ce commentaire.", because: "Motif : {reason}",
      deleted: "Ce commentaire a été supprimé.", edited: "modifié", up: "J’aime", down: "Je n’aime pas", score: "Score",
      more: "Afficher plus de commentaires", moreReplies: { one: "Afficher {n} autre réponse", other: "Afficher {n} autres réponses" },
      moreRepliesAny: "Afficher plus de réponses", continue: "Continuer cette discussion", back: "Revenir à toute la discussion",
      hide: "Masquer les réponses", show: { one: "Afficher {n} réponse", other: "Afficher {n} réponses" }, replyCount: { one: "{n} réponse", other: "{n} réponses" },
      posted: "Votre commentaire a été publié.", postedPending: "Votre commentaire a été envoyé et attend la modération.",
      saved: "Vos modifications ont été enregistrées.", removed: "Votre commentaire a été supprimé.",
      loaded: { one: "{n} commentaire de plus affiché.", other: "{n} commentaires de plus affichés." },
      closed: "Les commentaires sont fermés.", empty: "Aucun commentaire pour l’instant. Lancez la discussion.",
      loadError: "Impossible de charger les commentaires.", retry: "Réessayer", error: "Une erreur est survenue. Veuillez réessayer.",
      nudge: "Avant de publier : votre commentaire {reason}. Vous pouvez le modifier ou le publier quand même.", nudgeWords: "Mots à revoir :",
      nudgeAs: { insult: "pourrait être perçu comme une insulte", identity_attack: "pourrait être lu comme une attaque contre un groupe de personnes",
        threat: "pourrait être lu comme une menace", toxicity: "pourrait paraître hostile", profanity: "contient des mots grossiers" },
      following: "Consultez votre boîte mail : suivez le lien envoyé pour confirmer le suivi de cette discussion.", nudgeDefault: "risque d’enfreindre les règles de la discussion", followOff: "Le suivi des discussions n’est pas disponible sur ce site.",
      anon: "Anonyme", votedHere: "Un vote depuis cette connexion compte déjà pour ce commentaire.",
      verified: "lecteur vérifié", signedAs: "Connecté : {name}", signOut: "Se déconnecter", signIn: "Se connecter par e-mail", mine: "Mes commentaires",
      send: "Recevoir un lien", sent: "Consultez votre boîte mail : le lien envoyé vous connecte sur cette page.",
      fresh: "Nouveaux : {n} — afficher",
      picks: "Choix de la rédaction", pick: "Choix de la rédaction", pinned: "Épinglé",
      report: "Signaler", reportWhy: "Pourquoi ?", reasons: "Spam|Injure|Haine|Harcèlement|Données personnelles|Hors sujet|Autre",
      sendReport: "Envoyer", reported: "Merci : les modérateurs examineront ce commentaire.",
      keys: "Aide clavier", keysHelp: "↑ ↓ commentaire suivant et précédent, → afficher les réponses, ← les masquer ou aller au parent, Début et Fin premier et dernier commentaire, Tab boutons du commentaire.",
    },
    ru: {
      comments: "Комментарии", count: { one: "{n} комментарий", few: "{n} комментария", other: "{n} комментариев" },
      sort: "Сортировка", oldest: "Сначала старые", newest: "Сначала новые", top: "Лучшие", replies: "Больше ответов",
      write: "Написать комментарий", text: "Ваш комментарий", hint: "Поддерживается Markdown: *курсив*, **жирный**, [ссылка](https://…), > цитата.",
      name: "Имя", email: "Эл. почта (необязательно, не показывается)", website: "Сайт (необязательно)",
      notify: "Сообщать об ответах по почте", follow: "Следить за обсуждением по почте",
      post: "Отправить", postReply: "Ответить", postAnyway: "Всё равно отправить", save: "Сохранить", cancel: "Отмена",
      reply: "Ответить", skip: "Пропустить комментарии", quote: "Цитировать", edit: "Изменить", del: "Удалить", keep: "Оставить",
      confirmDel: "Удалить этот комментарий навсегда?", replyTo: "Ответить {name}", quoted: "Цитата (можно сократить)",
      editing: "Изменить комментарий", pending: "Ожидает модерации: этот комментарий видите только вы.",
      rejected: "Не опубликован: модераторы отклонили этот комментарий.", because: "Причина: {reason}",
      deleted: "Комментарий удалён.", edited: "изменён", up: "Нравится", down: "Не нравится", score: "Рейтинг",
      more: "Показать ещё комментарии", moreReplies: { one: "Показать ещё {n} ответ", few: "Показать ещё {n} ответа", other: "Показать ещё {n} ответов" },
      moreRepliesAny: "Показать ещё ответы", continue: "Продолжить ветку", back: "Вернуться ко всему обсуждению",
      hide: "Скрыть ответы", show: { one: "Показать {n} ответ", few: "Показать {n} ответа", other: "Показать {n} ответов" }, replyCount: { one: "{n} ответ", few: "{n} ответа", other: "{n} ответов" },
      posted: "Комментарий опубликован.", postedPending: "Комментарий отправлен и ожидает модерации.",
      saved: "Изменения сохранены.", removed: "Комментарий удалён.",
      loaded: { one: "Загружен ещё {n} комментарий.", few: "Загружено ещё {n} комментария.", other: "Загружено ещё {n} комментариев." },
      closed: "Комментарии закрыты.", empty: "Комментариев пока нет. Начните обсуждение.",
      loadError: "Не удалось загрузить комментарии.", retry: "Повторить", error: "Что-то пошло не так. Попробуйте ещё раз.",
      nudge: "Перед отправкой: ваш комментарий {reason}. Вы можете его исправить или всё равно отправить.", nudgeWords: "Слова, которые стоит пересмотреть:",
      nudgeAs: { insult: "может быть воспринят как оскорбление", identity_attack: "может быть воспринят как нападки на группу людей",
        threat: "может быть воспринят как угроза", toxicity: "может показаться враждебным", profanity: "содержит грубые слова" },
      following: "Проверьте почту: перейдите по ссылке из письма, чтобы подписаться на обсуждение.", nudgeDefault: "может нарушать правила обсуждения", followOff: "Подписка на обсуждения на этом сайте недоступна.",
      anon: "Аноним", votedHere: "Голос с этого подключения за этот комментарий уже учтён.",
      verified: "подтверждённый читатель", signedAs: "Вы вошли как {name}", signOut: "Выйти", signIn: "Войти по почте", mine: "Мои комментарии",
      send: "Прислать ссылку", sent: "Проверьте почту: ссылка из письма выполнит вход на этой странице.",
      fresh: "Новые: {n} — показать",
      picks: "Выбор редакции", pick: "Выбор редакции", pinned: "Закреплён",
      report: "Пожаловаться", reportWhy: "Причина?", reasons: "Спам|Оскорбление|Ненависть|Травля|Личные данные|Не по теме|Другое",
      sendReport: "Отправить", reported: "Спасибо: модераторы рассмотрят этот комментарий.",
      keys: "Клавиатура", keysHelp: "↑ ↓ — следующий и предыдущий комментарий, → — показать ответы, ← — скрыть их или перейти к родительскому, Home и End — первый и последний, Tab — кнопки комментария.",
    },
  };

  const start = () => {
    const root = document.getElementById("townsquare");
    if (!root) return;
    const opt = (k) => me.dataset[k] || root.dataset[k];
    const site = opt("site");
    const uri = opt("uri") || location.pathname;
    const title = opt("title") || document.title;
    const pageUrl = location.origin + location.pathname;
    const lang = [opt("lang"), ...(navigator.languages || [navigator.language])]
      .map((l) => String(l || "").slice(0, 2).toLowerCase())
      .find((l) => STRINGS[l]) || "en";
    const L = STRINGS[lang];
    const plural = new Intl.PluralRules(lang);
    const t = (key, vars = {}) => {
      let s = L[key];
      if (typeof s === "object") s = s[plural.select(vars.n)] || s.other;
      return s.replace(/\{(\w+)\}/g, (_, k) => vars[k]);
    };

    // ---- local memory (this browser only) ----
    const prefix = `townsquare:${BASE}:${site}:`;
    const load = (k, d) => {
      try { return JSON.parse(localStorage.getItem(prefix + k)) ?? d; } catch { return d; }
    };
    const keep = (k, v) => {
      try { localStorage.setItem(prefix + k, JSON.stringify(v, (key, x) => (key[0] === "_" ? undefined : x))); } catch { /* storage full or blocked */ }
    };
    const MONTH = 30 * 86400;
    const nowS = () => Date.now() / 1000;
    // Own comments: id -> {token, text, until}; drop the ones whose edit window is long over.
    const own = Object.fromEntries(Object.entries(load("own", {})).filter(([, o]) => o.until > nowS() - MONTH));
    const votes = load("votes", {});
    const pendingKey = "pending:" + uri;
    const pending = load(pendingKey, []).filter((c) => c.created > nowS() - MONTH);
    const saveOwn = () => keep("own", own);
    // A signed-in reader's session {token, user}: sent with writes as X-Townsquare-Session.
    let session = load("session", null);
    const savePending = () => keep(pendingKey, pending);

    // ---- DOM helpers ----
    const h = (tag, attrs, ...kids) => {
      const e = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs || {})) {
        if (v == null || v === false) continue;
        if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
        else if (k === "class") e.className = v;
        else e.setAttribute(k, v === true ? "" : v);
      }
      for (const c of kids.flat()) if (c != null && c !== false) e.append(c);
      return e;
    };
    const button = (label, onclick, cls = "ts-btn", attrs = {}) => h("button", { type: "button", class: cls, onclick, ...attrs }, label);
    const safeUrl = (u) => {
      try {
        const p = new URL(u);
        return p.protocol === "http:" || p.protocol === "https:" ? p.href : null;
      } catch { return null; }
    };
    const rtf = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
    const ago = (s) => {
      let d = s - nowS();
      for (const [unit, size] of [["second", 60], ["minute", 60], ["hour", 24], ["day", 30], ["month", 12], ["year", Infinity]]) {
        if (Math.abs(d) < size) return rtf.format(Math.round(d), unit);
        d /= size;
      }
    };
    let uid = 0;

    // ---- API ----
    // No cookies cross origins: the edit token and the voter token travel in headers.
    const api = async (method, path, body, token, extraHeaders) => {
      const headers = { Accept: "application/json", ...extraHeaders };
      // Only writes carry the session: thread reads stay simple requests (no CORS preflight).
      if (session && method !== "GET") headers["X-Townsquare-Session"] = session.token;
      if (body) headers["Content-Type"] = "application/json";
      if (token) headers.Authorization = "Bearer " + token;
      const r = await fetch(API + path, { method, headers, body: body && JSON.stringify(body) });
      const data = r.status === 204 ? null : await r.json().catch(() => null);
      if (!r.ok) {
        // A session that ended elsewhere (signed out everywhere, expired): back to a guest.
        if (r.status === 401 && headers["X-Townsquare-Session"] && /session/i.test(data && data.detail)) signedIn(null);
        const e = new Error((data && (data.detail || data.title)) || t("error"));
        e.status = r.status;
        throw e;
      }
      return data;
    };
    const query = (extra) => "/threads?" + new URLSearchParams({ site, uri, sort: state.sort, ...extra });

    // ---- state and layout ----
    const SORTS = ["oldest", "newest", "top", "replies", "picks"]; // picks: the editors' picks only
    const state = { sort: SORTS.includes(load("sort")) ? load("sort") : "oldest", list: [], next: null, total: 0, closed: false, focus: null, check: true, follow: true };
    const byId = new Map();
    const live = h("div", { class: "ts-sr", role: "status", "aria-live": "polite" });
    const say = (msg) => { live.textContent = ""; setTimeout(() => { live.textContent = msg; }, 50); };
    const heading = h("h2", { class: "ts-h", id: "ts-heading" }, t("comments"));
    const sortSelect = h("select", { id: "ts-sort", onchange: () => { state.sort = sortSelect.value; keep("sort", state.sort); refresh(); } },
      SORTS.map((v) => h("option", { value: v, selected: v === state.sort }, t(v))));
    const note = h("p", { class: "ts-note", hidden: true });
    const keysHelp = h("p", { class: "ts-hint", id: "ts-keys", hidden: true }, t("keysHelp"));
    const keysBtn = button(t("keys"), () => { keysHelp.hidden = !keysHelp.hidden; keysBtn.setAttribute("aria-expanded", !keysHelp.hidden); }, "ts-link", { "aria-expanded": "false", "aria-controls": "ts-keys" });
    const back = button(t("back"), () => { const c = state.focus; state.focus = null; renderTree(); moveTo(c._li); }, "ts-link", { hidden: true });
    const tree = h("ul", { class: "ts-tree", role: "tree", "aria-labelledby": "ts-heading" });
    const end = h("span", { tabindex: -1 });
    const skip = h("a", { class: "ts-sr ts-skip", href: "#", onclick: (e) => { e.preventDefault(); end.focus(); } }, t("skip"));
    const moreTop = button(t("more"), () => loadMoreTop(), "ts-btn ts-more", { hidden: true });
    // New comments wait behind this button.
    const freshBtn = button("", () => showFresh(), "ts-btn ts-more", { hidden: true });
    const topForm = h("div", { class: "ts-top" });
    const account = h("div", { class: "ts-account" });
    root.classList.add("ts");
    root.setAttribute("lang", lang);
    root.replaceChildren(h("section", { "aria-labelledby": "ts-heading" },
      heading, account, topForm,
      h("div", { class: "ts-bar" }, h("label", { for: "ts-sort" }, t("sort")), sortSelect, keysBtn), keysHelp,
      note, back, h("div", { "aria-live": "polite" }, freshBtn), skip, tree, moreTop, end, live));

    const isOwn = (c) => (own[c.id] && own[c.id].until > nowS()) || (session && c.author && c.author.verified && c.author.id === session.user.id);
    const blank = (c) => c.status === "deleted";

    // ---- one comment ----
    const card = (c) => {
      const a = c.author || {};
      const link = safeUrl(a.website || "");
      const name = h(link ? "a" : "span", { class: "ts-name", id: "ts-n" + c.id, href: link, rel: link && "nofollow ugc noopener" }, a.name || t("anon"));
      const when = new Date(c.created * 1000);
      // The mark says it in words too (not by colour alone); badges are the publisher's.
      const mark = a.verified ? h("span", { class: "ts-verified" }, h("span", { "aria-hidden": "true" }, "✓"), h("span", { class: "ts-sr" }, t("verified")),
        ...(a.badges || []).map((b) => h("span", { class: "ts-role" }, b))) : null;
      const meta = h("header", { class: "ts-meta" }, name, mark, ...pickMarks(c),
        h("a", { class: "ts-when", href: "#ts-c" + c.id }, h("time", { datetime: when.toISOString(), title: when.toLocaleString(lang) }, ago(c.created))),
        c.edited && !blank(c) ? h("span", { class: "ts-edited" }, t("edited")) : null,
        c.status === "pending" ? h("span", { class: "ts-badge" }, t("pending")) : null,
        c.status === "rejected" ? h("span", { class: "ts-badge ts-badge-rejected" }, t("rejected")) : null,
        c.status === "rejected" && c._reason ? h("span", { class: "ts-reason" }, t("because", { reason: c._reason })) : null);
      const body = h("div", { class: "ts-body" });
      if (blank(c)) body.append(h("em", null, t("deleted")));
      else if (c.html == null) body.append(...c.text.split(/\n\s*\n/).map((p) => h("p", null, p)));
      else body.innerHTML = trusted(c.html); // sanitised by the server when the comment was written
      const held = c.status === "pending" || c.status === "rejected";
      // The tree item's name comes from its parts: this card (author, first words) and its replies' number.
      const words = ownWords(body) || body.textContent.replace(/\s+/g, " ").trim();
      const cut = words.length > 80;
      const end = words.lastIndexOf(" ", 80);
      body.id = "ts-b" + c.id;
      cut ? c._li.setAttribute("aria-describedby", body.id) : c._li.removeAttribute("aria-describedby");
      const art = h("article", { class: "ts-c" + (held ? " ts-pending" : ""), "aria-label": `${name.textContent}: ${cut ? words.slice(0, end > 0 ? end : 80) + "…" : words}` }, meta, body, actions(c));
      if (c._li.tabIndex) rove(art, false);
      return art;
    };

    // Pinned and editors' picks say so in words.
    const pickMarks = (c) => [c.pinned && h("strong", { class: "ts-badge" }, t("pinned")), c.featured && h("strong", { class: "ts-badge" }, t("pick"))];

    const actions = (c) => {
      const bar = h("div", { class: "ts-actions" });
      if (blank(c)) return bar;
      if (c.status !== "pending" && c.status !== "rejected") {
        const mine = votes[c.id] || 0;
        const voteBtn = (value, glyph, label) => button(glyph, () => vote(c, mine === value ? 0 : value, value), `ts-vote ts-v${value}`, { "aria-pressed": String(mine === value), "aria-label": `${label}, ${t("score")} ${c.votes || 0}` });
        bar.append(voteBtn(1, "▲", t("up")), h("span", { class: "ts-score", title: t("score") }, String(c.votes || 0)), voteBtn(-1, "▼", t("down")));
        if (!state.closed) {
          let picked = null;
          bar.append(button(t("reply"), () => openReply(c, null), "ts-btn ts-reply", { "aria-label": t("replyTo", { name: (c.author && c.author.name) || t("anon") }) }),
            button(t("quote"), () => { openReply(c, picked || quoteOf(c)); picked = null; }, "ts-btn", { onpointerdown: () => { picked = quoteOf(c); } }));
        }
      }
      if (c.status === "published" && !isOwn(c)) bar.append(button(t("report"), () => openReport(c, bar), "ts-btn ts-flag"));
      if (isOwn(c)) {
        // A declined comment can no longer be edited (a moderator decided), only deleted.
        if (c.status !== "rejected") bar.append(button(t("edit"), () => openEdit(c), "ts-btn ts-edit"));
        bar.append(button(t("del"), () => confirmDelete(c, bar), "ts-btn ts-delete"));
      }
      if (c._level >= MAX_LEVEL && ((c.replies || []).length || c.more_replies)) bar.append(button(t("continue") + " →", () => focusOn(c), "ts-link ts-continue"));
      const kids = kidsOf(c);
      if (kids) {
        const open = !c._group.hidden;
        bar.append(button(open ? t("hide") : t("show", { n: kids }), () => toggle(c, !open), "ts-link", { "aria-expanded": String(open) }));
      }
      return bar;
    };

    // A reader reports a comment with a reason; the server counts one report per reader.
    const REASONS = ["spam", "abuse", "hate", "harassment", "personal_data", "off_topic", "other"];
    const openReport = (c, bar) => {
      if (bar.nextElementSibling?.matches(".ts-report")) return;
      const id = `ts-${++uid}-why`;
      const why = h("select", { id }, L.reasons.split("|").map((label, i) => h("option", { value: REASONS[i] }, label)));
      const form = h("form", { class: "ts-report ts-buttons", "aria-label": t("report") }, h("label", { for: id }, t("reportWhy")), why,
        h("button", { type: "submit", class: "ts-btn" }, t("sendReport")), button(t("cancel"), () => { form.remove(); bar.querySelector(".ts-flag").focus(); }));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        try {
          const voter = load("voter", null);
          await api("POST", `/comments/${c.id}/report`, { reason: why.value }, null, voter ? { "X-Townsquare-Voter": voter } : {});
          form.replaceChildren(h("p", { role: "status" }, t("reported")));
        } catch (e) { form.append(h("p", { class: "ts-alert", role: "alert" }, e.message)); }
      });
      bar.after(form);
      why.focus();
    };

    const ownWords = (body) => {
      const copy = body.cloneNode(true);
      copy.querySelectorAll("blockquote").forEach((q) => q.remove());
      return copy.textContent.replace(/\s+/g, " ").trim();
    };
    // The selected passage if the reader selected text inside this comment, else its opening.
    const quoteOf = (c) => {
      const body = c._li.querySelector(".ts-body");
      const sel = getSelection();
      if (sel && !sel.isCollapsed && body.contains(sel.anchorNode) && body.contains(sel.focusNode)) return sel.toString().trim();
      const text = ownWords(body);
      return text.length > QUOTE_MAX ? text.slice(0, text.lastIndexOf(" ", QUOTE_MAX) + 1 || QUOTE_MAX).trim() + "…" : text;
    };

    const item = (c, level) => {
      byId.set(c.id, c);
      c._level = level;
      const li = h("li", { class: "ts-item", role: "treeitem", "aria-level": level, id: "ts-c" + c.id, tabindex: -1 });
      c._li = li;
      c._group = null;
      const kids = c.replies || [];
      if (level >= MAX_LEVEL && (kids.length || c.more_replies)) {
        li.append(card(c));
        return li;
      }
      c._group = h("ul", { class: "ts-group", role: "group" }, kids.map((k) => item(k, level + 1)));
      li.append(card(c), c._group);
      if (c.more_replies && c.replies_cursor) c._group.append(h("li", { role: "none" }, moreRepliesButton(c)));
      markExpanded(c);
      return li;
    };

    // An open reply form stays open.
    const redraw = (c) => {
      const old = c._li.querySelector(".ts-c"), form = old.querySelector(":scope > .ts-reply-form"), art = card(c);
      old.replaceWith(art);
      if (form) art.append(form);
    };
    const kidsOf = (c) => (c._group ? c._group.querySelectorAll(":scope > [role=treeitem]").length : 0);
    const markExpanded = (c) => {
      const n = kidsOf(c);
      n ? c._li.setAttribute("aria-expanded", !c._group.hidden) : c._li.removeAttribute("aria-expanded");
      n ? c._group.setAttribute("aria-label", t("replyCount", { n })) : c._group?.removeAttribute("aria-label");
    };
    const toggle = (c, open) => {
      c._group.hidden = !open;
      markExpanded(c);
      redraw(c);
    };

    // ---- whole tree ----
    const renderTree = () => {
      const roots = state.focus ? [state.focus] : state.list;
      tree.replaceChildren(...roots.map((c) => item(c, 1)));
      back.hidden = !state.focus;
      moreTop.hidden = !!state.focus || !state.next;
      heading.textContent = t("count", { n: state.total });
      note.hidden = roots.length > 0 && !state.closed;
      note.textContent = state.closed ? t("closed") : t("empty");
      topForm.hidden = state.closed;
      const first = tree.querySelector("[role=treeitem]");
      if (first) current(first);
    };
    const focusOn = (c) => { state.focus = c; renderTree(); moveTo(c._li); };

    // Held comments live in this browser only; show them where they belong until they are published.
    const mergePending = () => {
      for (const p of pending.slice()) {
        const seen = byId.get(p.id);
        if (seen && seen !== p) {
          if (seen.status !== "pending") pending.splice(pending.indexOf(p), 1);
          continue;
        }
        const parent = p.parent_id == null ? null : byId.get(p.parent_id);
        if (p.parent_id != null && !parent) continue;
        const list = parent ? (parent.replies = parent.replies || []) : state.list;
        if (!list.includes(p)) list[parent || state.sort !== "newest" ? "push" : "unshift"](p);
        if (p.status !== "rejected") p.status = "pending";
        byId.set(p.id, p);
      }
      savePending();
    };
    // A held comment may since have been published, or declined: its author is told which.
    const checkHeld = async () => {
      let changed = false;
      for (const p of pending.filter((x) => own[x.id]).slice(0, 20)) {
        try {
          const res = await api("GET", "/comments/" + p.id, null, own[p.id].token);
          const now = res.comment.status;
          if (now === "rejected") {
            const reason = (res.moderation && res.moderation.reason) || "";
            changed = changed || p.status !== "rejected" || p._reason !== reason;
            Object.assign(p, { status: "rejected", _reason: reason });
          } else if (now === "published" || now === "deleted") {
            pending.splice(pending.indexOf(p), 1);
            changed = true;
          }
        } catch { /* offline or token expired: keep what we know */ }
      }
      if (changed) { savePending(); renderTree(); }
    };
    const index = (list) => {
      for (const c of list) { byId.set(c.id, c); index(c.replies || []); }
    };

    let loads = 0;
    const refresh = async () => {
      const n = ++loads;
      tree.setAttribute("aria-busy", "true");
      try {
        const data = await api("GET", query({}));
        if (n !== loads) return; // a newer load (another sort) answers instead
        state.list = data.comments || [];
        state.next = data.next_cursor || null;
        state.total = data.total || 0;
        state.closed = !!(data.thread && data.thread.closed);
      } catch (e) {
        if (n !== loads) return;
        if (e.status !== 404) { showLoadError(); return; }
        Object.assign(state, { list: [], next: null, total: 0, closed: false });
      } finally {
        tree.removeAttribute("aria-busy");
      }
      state.focus = null;
      byId.clear();
      index(state.list);
      mergePending();
      renderTree();
      if (!topForm.firstChild && !state.closed) topForm.append(composer({}));
      checkHeld();
      const target = location.hash.startsWith("#ts-c") && byId.get(Number(location.hash.slice(5)));
      if (target && target._li) target._li.scrollIntoView();
    };
    const showLoadError = () => {
      note.hidden = false;
      note.replaceChildren(t("loadError"), " ", button(t("retry"), refresh));
    };

    const loadMoreTop = async () => {
      moreTop.disabled = true;
      try {
        const data = await api("GET", query({ cursor: state.next }));
        const fresh = (data.comments || []).filter((c) => !state.list.some((o) => o.id === c.id));
        state.list.push(...fresh);
        state.next = data.next_cursor || null;
        index(fresh);
        const items = fresh.map((c) => item(c, 1));
        tree.append(...items);
        moreTop.hidden = !state.next;
        say(t("loaded", { n: fresh.length }));
        if (items[0]) moveTo(items[0]);
      } catch (e) {
        say(e.message);
      } finally {
        moreTop.disabled = false;
      }
    };

    const moreRepliesButton = (c) => {
      const label = c.more_replies > 0 ? t("moreReplies", { n: c.more_replies }) : t("moreRepliesAny");
      const b = button(label, async () => {
        b.disabled = true;
        try {
          const data = await api("GET", query({ parent: c.id, cursor: c.replies_cursor }));
          const fresh = (data.comments || []).filter((k) => !(c.replies || []).some((o) => o.id === k.id));
          c.replies = (c.replies || []).concat(fresh);
          c.replies_cursor = data.next_cursor || null;
          c.more_replies = c.replies_cursor ? Math.max(0, (c.more_replies || 0) - fresh.length) : 0;
          index(fresh);
          const items = fresh.map((k) => item(k, c._level + 1));
          b.parentElement.before(...items);
          markExpanded(c);
          c.replies_cursor ? b.replaceWith(moreRepliesButton(c)) : b.parentElement.remove();
          say(t("loaded", { n: fresh.length }));
          if (items[0]) moveTo(items[0]);
        } catch (e) {
          b.disabled = false;
          say(e.message);
        }
      }, "ts-link ts-more-replies");
      return b;
    };

    // ---- writing ----
    const field = (id, label, control, extra) => h("div", { class: "ts-field" }, h("label", { for: id }, label), control, extra);

    /* One form for new comments and replies: {parent, quote}. */
    const composer = ({ parent = null, quote = null }) => {
      const n = ++uid;
      const id = (k) => `ts-${n}-${k}`;
      const who = load("author", {});
      const text = h("textarea", { id: id("text"), name: "text", rows: parent ? 3 : 4, required: true, "aria-describedby": id("hint") });
      const quoteBox = quote != null ? h("textarea", { id: id("quote"), class: "ts-quote", rows: 2, name: "quote" }) : null;
      if (quoteBox) quoteBox.value = quote;
      const input = (k, type, auto, value) => h("input", { id: id(k), name: k, type, autocomplete: auto, value: value || "", inputmode: k === "website" ? "url" : null });
      const name = input("name", "text", "name", who.name);
      name.required = !session;
      const email = input("email", "email", "email", who.email);
      const website = input("website", "text", "url", who.website);
      const notify = h("input", { id: id("notify"), type: "checkbox" });
      const follow = h("input", { id: id("follow"), type: "checkbox" });
      const needEmail = () => { email.required = notify.checked || follow.checked; };
      notify.addEventListener("change", needEmail);
      follow.addEventListener("change", needEmail);
      const followRow = h("div", { class: "ts-check ts-follow", hidden: !state.follow }, follow, h("label", { for: id("follow") }, t("follow")));
      // A field people never see; bots fill it in. With the form's age it feeds the bot traps.
      const trap = h("input", { name: "homepage", type: "text", tabindex: -1, autocomplete: "off", "aria-hidden": "true", class: "ts-sr" });
      const opened = Date.now();
      const alert = h("div", { class: "ts-alert", role: "alert" });
      const submit = h("button", { type: "submit", class: "ts-btn ts-primary" }, parent ? t("postReply") : t("post"));
      const label = parent ? t("replyTo", { name: (parent.author && parent.author.name) || t("anon") }) : t("write");
      const form = h("form", { class: parent ? "ts-form ts-reply-form" : "ts-form", "aria-label": label },
        parent ? h("p", { class: "ts-replying" }, label) : null,
        quoteBox && field(id("quote"), t("quoted"), quoteBox),
        field(id("text"), t("text"), text, h("small", { id: id("hint"), class: "ts-hint" }, t("hint"))),
        h("div", { class: "ts-who" }, session ? null : field(id("name"), t("name"), name), field(id("email"), t("email"), email), field(id("website"), t("website"), website)),
        h("div", { class: "ts-check" }, notify, h("label", { for: id("notify") }, t("notify"))),
        followRow, trap, alert,
        h("div", { class: "ts-buttons" }, submit, parent ? button(t("cancel"), () => closeReply(parent)) : null));
      let nudged = false;
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        alert.textContent = "";
        const body = text.value.trim();
        if (!body) { text.focus(); return; }
        const author = { name: session ? "" : name.value.trim(), email: email.value.trim() || null, website: website.value.trim() || null };
        if (author.website && !/^https?:\/\//i.test(author.website)) author.website = "https://" + author.website;
        if (!session) keep("author", author);
        submit.disabled = true;
        form.setAttribute("aria-busy", "true");
        try {
          if (!nudged && state.check) {
            const why = await nudgeReason(body);
            if (why) {
              nudged = true;
              alert.replaceChildren(t("nudge", { reason: why.reason }),
                ...(why.words.length ? [" " + t("nudgeWords") + " ", ...why.words.flatMap((w, i) => [i ? ", " : "", h("mark", {}, w)])] : []));
              submit.textContent = t("postAnyway");
              text.focus();
              return;
            }
          }
          const q = quoteBox && quoteBox.value.trim();
          const res = await api("POST", "/comments", {
            site, uri, title, url: pageUrl, parent_id: parent ? parent.id : null, quote: q || null, text: body,
            author, notify_replies: notify.checked, honeypot: trap.value || null, elapsed_ms: Date.now() - opened,
            check_token: checked && checked.text === body ? checked.token : null,
          });
          const followed = follow.checked ? await subscribe(author.email, followRow) : "";
          const c = unmask(res.comment, author, body);
          own[c.id] = { token: res.edit_token, text: body, until: res.edit_until || c.created + DEFAULT_EDIT_WINDOW };
          saveOwn();
          session || account.querySelector(".ts-mine") || showAccount(); // a guest's first comment: "My comments" now has something to show
          if (c.status === "pending") { pending.push(c); savePending(); }
          text.value = "";
          nudged = false;
          submit.textContent = parent ? t("postReply") : t("post");
          if (parent) closeReply(parent);
          added(c);
          say([c.status === "pending" ? t("postedPending") : t("posted"), followed].filter(Boolean).join(" "));
        } catch (e) {
          alert.textContent = e.message;
        } finally {
          submit.disabled = false;
          form.removeAttribute("aria-busy");
        }
      });
      form._text = text;
      form._quote = quoteBox;
      return form;
    };

    // The last check's token and the text it scored: posting that text sends it, so the server
    // reuses the check's scores instead of running the model again.
    let checked = null;

    // Ask the moderation check whether to warn the author once; any failure lets the comment through.
    // The warning is in plain words (never a label or a score) with the words the check pointed at.
    const nudgeReason = async (text) => {
      try {
        const r = await api("POST", "/moderation/check", { site, text });
        checked = r && r.check_token ? { text, token: r.check_token } : null;
        if (r && r.nudge) {
          const why = r.reasons.find((x) => x.phase === "toxicity") || r.reasons[0];
          const words = [...new Set((why && why.spans || []).map(([a, b]) => text.slice(a, b).trim()).filter(Boolean))];
          return { reason: (why && L.nudgeAs[why.label]) || t("nudgeDefault"), words: words.slice(0, 5) };
        }
      } catch (e) {
        if (e.status === 404) state.check = false;
      }
      return null;
    };

    const subscribe = async (email, row) => {
      try {
        await api("POST", "/subscriptions", { site, kind: "thread", channel: "email", address: email, uri, title, url: pageUrl });
        return t("following");
      } catch (e) {
        if (e.status === 404 || e.status === 405) {
          state.follow = false;
          root.querySelectorAll(".ts-follow").forEach((r) => { r.hidden = true; });
          return t("followOff");
        }
        row.append(h("p", { class: "ts-alert", role: "alert" }, e.message));
        return "";
      }
    };

    // A held comment comes back without its words (it is not public yet): show its author what they wrote.
    const unmask = (c, author, text) => (c.status === "pending" && c.author.name !== author.name ? { ...c, author, html: null, text } : c);

    const added = (c) => {
      c.replies = c.replies || [];
      byId.set(c.id, c);
      const parent = c.parent_id == null ? null : byId.get(c.parent_id);
      if (c.status === "published") state.total += 1;
      if (!parent) {
        state.list[state.sort === "newest" ? "unshift" : "push"](c);
        if (state.focus) {
          state.focus = null;
          renderTree();
        } else {
          const li = item(c, 1);
          if (state.sort === "newest") tree.prepend(li); else tree.append(li);
          note.hidden = true;
        }
      } else {
        parent.replies = (parent.replies || []).concat(c);
        if (!parent._group) { focusOn(parent); } else {
          parent._group.hidden = false;
          parent._group.insertBefore(item(c, parent._level + 1), parent._group.querySelector(":scope > [role=none]"));
          markExpanded(parent);
          redraw(parent);
        }
      }
      heading.textContent = t("count", { n: state.total });
      moveTo(c._li);
    };

    const openReply = (c, quote) => {
      let form = c._li.querySelector(":scope > .ts-c > .ts-reply-form");
      if (!form) {
        form = composer({ parent: c, quote });
        c._li.querySelector(":scope > .ts-c").append(form);
      } else if (quote != null && form._quote) form._quote.value = quote;
      form._text.focus();
    };
    const closeReply = (c) => {
      const form = c._li.querySelector(":scope > .ts-c > .ts-reply-form");
      if (form) form.remove();
      c._li.querySelector(":scope > .ts-c .ts-reply")?.focus();
    };

    const openEdit = (c) => {
      const art = c._li.querySelector(":scope > .ts-c");
      const body = art.querySelector(".ts-body");
      if (art.querySelector(".ts-form")) return;
      const n = ++uid;
      const area = h("textarea", { id: `ts-${n}-edit`, rows: 4, required: true });
      area.value = own[c.id]?.text || body.textContent.trim();
      const alert = h("div", { class: "ts-alert", role: "alert" });
      const stop = () => { form.remove(); body.hidden = false; art.querySelector(".ts-actions").hidden = false; c._li.focus(); };
      const form = h("form", { class: "ts-form", "aria-label": t("editing") },
        field(`ts-${n}-edit`, t("text"), area), alert,
        h("div", { class: "ts-buttons" }, h("button", { type: "submit", class: "ts-btn ts-primary" }, t("save")), button(t("cancel"), stop)));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const text = area.value.trim();
        if (!text) return;
        try {
          const res = await api("PATCH", "/comments/" + c.id, { text }, own[c.id]?.token);
          Object.assign(c, unmask(res.comment, c.author, text));
          if (own[c.id]) { own[c.id].text = text; saveOwn(); }
          const p = pending.find((x) => x.id === c.id);
          if (p) Object.assign(p, c);
          else if (c.status === "pending") pending.push(c);
          savePending();
          redraw(c);
          c._li.focus();
          say(t("saved"));
        } catch (e) {
          alert.textContent = e.message;
        }
      });
      body.hidden = true;
      art.querySelector(".ts-actions").hidden = true;
      body.after(form);
      area.focus();
    };

    const confirmDelete = (c, bar) => {
      const keepBtn = button(t("keep"), () => { box.replaceWith(bar); bar.querySelector("button")?.focus(); });
      const box = h("div", { class: "ts-confirm", role: "group", "aria-label": t("confirmDel") }, h("span", null, t("confirmDel")),
        button(t("del"), () => remove(c, box), "ts-btn ts-danger"), keepBtn);
      bar.replaceWith(box);
      keepBtn.focus();
    };

    const remove = async (c, box) => {
      try {
        await api("DELETE", "/comments/" + c.id, null, own[c.id]?.token);
      } catch (e) {
        box.append(h("p", { class: "ts-alert", role: "alert" }, e.message));
        return;
      }
      delete own[c.id];
      saveOwn();
      const i = pending.findIndex((x) => x.id === c.id);
      if (i >= 0) { pending.splice(i, 1); savePending(); }
      if (c.status === "published") state.total -= 1;
      heading.textContent = t("count", { n: state.total });
      const next = c._li.nextElementSibling || c._li.parentElement.closest("[role=treeitem]");
      if (kidsOf(c)) {
        c.status = "deleted";
        redraw(c);
        c._li.focus();
      } else {
        const parent = byId.get(c.parent_id);
        const list = parent ? parent.replies : state.list;
        if (list.includes(c)) list.splice(list.indexOf(c), 1);
        byId.delete(c.id);
        c._li.remove();
        if (parent && parent._li) { markExpanded(parent); redraw(parent); }
        if (next) moveTo(next); else heading.focus();
        if (!state.list.length) renderTree();
      }
      say(t("removed"));
    };

    const vote = async (c, value, pressed) => {
      try {
        const voter = load("voter", null);
        const res = await api("POST", `/comments/${c.id}/vote`, { value }, null, voter ? { "X-Townsquare-Voter": voter } : {});
        if (res.voter_token) keep("voter", res.voter_token);
        Object.assign(c, { votes: res.votes, likes: res.likes, dislikes: res.dislikes });
        // One vote per connection: a second reader behind the same address is not counted.
        if (res.counted === false) say(t("votedHere"));
        else if (value) votes[c.id] = value; else delete votes[c.id];
        keep("votes", votes);
        redraw(c);
        c._li.querySelector(`:scope > .ts-c .ts-v${pressed}`)?.focus();
      } catch (e) {
        say(e.message);
      }
    };

    // ---- keyboard: arrow keys move between comments (ARIA tree pattern); Tab reaches the current one's controls ----
    const current = (li) => {
      const was = tree.querySelector("[role=treeitem][tabindex='0']");
      if (was === li) return;
      if (was) { was.tabIndex = -1; rove(was, false); }
      li.tabIndex = 0;
      rove(li, true);
    };
    const moveTo = (li) => {
      if (!li) return;
      current(li);
      li.focus();
    };
    // A comment's own controls (not its replies') in or out of the Tab order.
    const rove = (el, on) => {
      const li = el.closest("[role=treeitem]");
      el.querySelectorAll(on ? "[data-rove]" : "a[href],button,input,select,textarea").forEach((x) => {
        if (x.closest("[role=treeitem]") !== li || (!on && x.hasAttribute("tabindex"))) return;
        on ? (x.removeAttribute("tabindex"), x.removeAttribute("data-rove")) : ((x.tabIndex = -1), x.setAttribute("data-rove", ""));
      });
    };
    tree.addEventListener("focusin", (e) => { const li = e.target.closest("[role=treeitem]"); if (li) current(li); });
    tree.addEventListener("keydown", (e) => {
      const li = e.target;
      if (li.getAttribute("role") !== "treeitem") return;
      const items = [...tree.querySelectorAll("[role=treeitem]")].filter((x) => x.offsetParent !== null);
      const i = items.indexOf(li);
      const c = byId.get(Number(li.id.slice(4)));
      const expanded = li.getAttribute("aria-expanded");
      const moves = {
        ArrowDown: () => items[i + 1], ArrowUp: () => items[i - 1], Home: () => items[0], End: () => items[items.length - 1],
        ArrowRight: () => (expanded === "false" ? toggle(c, true) : li.querySelector("[role=treeitem]")),
        ArrowLeft: () => (expanded === "true" ? toggle(c, false) : li.parentElement.closest("[role=treeitem]")),
      };
      if (!moves[e.key]) return;
      e.preventDefault();
      moveTo(moves[e.key]());
    });

    // Styles: once per page, from the same server as the script. The server names the current
    // styles' content-hashed address here, which browsers may keep for a year.
    const CSS = "/embed.css";
    if (!document.querySelector("link[href$='/embed.css'], link[href*='/static/embed.']")) {
      document.head.append(h("link", { rel: "stylesheet", href: BASE + CSS }));
    }
    // ---- signing in: the publisher's token (data-sso, Townsquare.signIn) or an e-mail link ----
    const signedIn = (s) => {
      session = s && { token: s.session_token, user: s.user };
      keep("session", session);
      showAccount();
      // The form changes (a signed-in reader gives no name); what was typed stays.
      const typed = topForm.querySelector("textarea")?.value;
      if (!state.closed) topForm.replaceChildren(composer({}));
      if (typed) topForm.querySelector("textarea").value = typed;
      renderTree();
    };
    const signIn = async (path, body) => {
      try { signedIn(await api("POST", "/auth/" + path, { site, ...body })); } catch (e) { say(e.message); }
    };
    const signOut = async () => {
      try { await api("POST", "/auth/signout"); } catch { /* already ended */ }
      signedIn(null);
    };
    // The reader's own comments (signed in, or proven by this browser's edit tokens) open on a page of the server's.
    const mine = () => button(t("mine"), () => api("POST", "/auth/profile", { site, edit_tokens: Object.values(own).map((o) => o.token).slice(-100) })
      .then((r) => window.open(r.url, "_blank", "noopener"), (e) => say(e.message)), "ts-link ts-mine");
    const showAccount = () => {
      if (session) {
        account.replaceChildren(h("span", null, t("signedAs", { name: session.user.name })), " ", mine(), " ", button(t("signOut"), signOut, "ts-link ts-signout"));
        return;
      }
      const email = h("input", { type: "email", required: true, "aria-label": t("email").split(" (")[0], autocomplete: "email" });
      const name = h("input", { type: "text", required: true, "aria-label": t("name"), autocomplete: "name", value: load("author", {}).name || "" });
      const form = h("form", { class: "ts-signin", hidden: true }, name, email, h("button", { type: "submit", class: "ts-btn" }, t("send")));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        try {
          await api("POST", "/auth/email", { site, email: email.value.trim(), name: name.value.trim(), url: location.href });
          form.replaceChildren(h("p", { role: "status" }, t("sent")));
        } catch (e) { say(e.message); }
      });
      const open = button(t("signIn"), () => { form.hidden = !form.hidden; open.setAttribute("aria-expanded", String(!form.hidden)); if (!form.hidden) name.focus(); }, "ts-link", { "aria-expanded": "false" });
      account.replaceChildren(open, form, ...(Object.keys(own).length ? [" ", mine()] : []));
    };
    window.Townsquare = { signIn: (jwt) => signIn("sso", { token: jwt }), signOut };
    showAccount();
    // A sign-in link brings a one-time code in the fragment: trade it for a session, and drop it from the address bar.
    const code = location.hash.match(/^#townsquare-sign-in=(.+)$/);
    if (code) {
      history.replaceState(null, "", location.pathname + location.search);
      signIn("email/redeem", { code: code[1] });
    } else if (opt("sso") && opt("sso") !== load("sso")) {
      keep("sso", opt("sso"));
      signIn("sso", { token: opt("sso") });
    }
    // ---- live updates ----
    const fresh = new Map();
    const showFresh = () => {
      for (const c of fresh.values()) {
        const p = byId.get(c.parent_id);
        if (byId.has(c.id) || (c.parent_id && !p)) continue;
        p ? (p.replies ||= []).push(c) : state.sort === "newest" ? state.list.unshift(c) : state.next || state.list.push(c);
        index([c]);
        state.total++;
      }
      fresh.clear();
      renderTree();
      freshBtn.hidden = true;
    };
    // Removed as on a reload: a placeholder if it has replies.
    const gone = (d, c) => c && !blank(c) && ((c.status = "deleted"), kidsOf(c) ? redraw(c) : c._li.remove(), (heading.textContent = t("count", { n: --state.total })));
    // The score alone, in the text and in the vote buttons' names: focus stays put.
    const liveVote = (d, c) => {
      if (!c || blank(c)) return;
      const k = Object.assign(c, d)._li.querySelector(":scope>.ts-c");
      k.querySelector(".ts-score").textContent = d.votes;
      for (const b of k.querySelectorAll(".ts-vote")) b.ariaLabel = b.ariaLabel.replace(/-?\d+$/, d.votes);
    };
    // Not while the reader edits it.
    const liveEdit = (d, c) => c && !c._li.querySelector(":scope>.ts-c .ts-form:not(.ts-reply-form)") && redraw(Object.assign(c, { html: d.html, edited: d.edited }));
    const liveStatus = (d, c) => {
      if (!("closed" in d)) return gone(d, c);
      state.closed = d.closed;
      renderTree();
      topForm.firstChild || d.closed || topForm.append(composer({}));
    };
    // One pinned comment: it moves to the top (of the whole thread's view); picks get their mark.
    const livePin = (d, c) => {
      for (const o of byId.values()) if (o.pinned && o !== c && o._li) redraw(Object.assign(o, { pinned: false }));
      if (!c) return;
      redraw(Object.assign(c, { pinned: d.pinned }));
      const i = state.list.indexOf(c);
      if (d.pinned && i > 0 && !state.focus) tree.prepend(state.list.splice(i, 1)[0]._li), state.list.unshift(c);
    };
    const on = {
      status: liveStatus,
      feature: (d, c) => c && redraw(Object.assign(c, { featured: d.featured })),
      pin: livePin,
      delete: gone,
      edit: liveEdit,
      vote: liveVote,
      comment: (d) => byId.has(d.id) || (fresh.set(d.id, d), (freshBtn.textContent = t("fresh", { n: fresh.size })), (freshBtn.hidden = false)),
    };
    // No stream: the newest page's new comments and replies, every 30 s.
    const liveWalk = (l) => l?.forEach((c) => (on.comment(c), liveWalk(c.replies)));
    const livePoll = () => setInterval(() => api("GET", query({ sort: "newest" })).then((d) => (liveWalk(d.comments), !d.thread.closed === !state.closed || liveStatus(d.thread)), () => {}), 3e4);
    const follow = () => {
      if (!self.EventSource) return livePoll();
      const es = new EventSource(API + query({}).replace("?", "/events?"));
      for (const k in on) {
        es.addEventListener(k, (e) => {
          const d = JSON.parse(e.data), c = byId.get(d.id);
          on[k](d, c?._li && c);
        });
      }
      // Reconnects resume (Last-Event-ID); never opened (blocked on the way), refused, or failing again and again: poll.
      let fails = -1;
      es.onopen = () => { fails = 0; };
      es.onerror = () => (fails < 0 || ++fails > 3 || es.readyState > 1) && (es.close(), livePoll());
    };
    refresh().then(follow);
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
