// The operator view: the emulator's state, live journal and fault-injector controls.
"use strict";

(() => {
  const { api, el, liveSocket, setConn, clock } = SQ;
  const $ = (id) => document.getElementById(id);
  const KEEP = 500;
  const entries = [];
  let accounts = new Map(); // qq -> nick

  function say(error, notice) {
    $("op-error").textContent = error || "";
    $("op-notice").textContent = notice || "";
  }

  async function act(path, body, done) {
    say("", "");
    try {
      const res = await api(path, { body });
      say("", done(res));
      await refresh();
    } catch (e) {
      say(e.message);
    }
  }

  // -- state --------------------------------------------------------------------------

  function who(qq) {
    if (qq === null || qq === undefined) return "";
    const nick = accounts.get(qq);
    return nick ? `${nick} (${qq})` : String(qq);
  }

  async function refresh() {
    let st;
    try { st = await api("/_web/api/operator/state"); } catch (e) { return; }
    const firstTime = accounts.size === 0;
    accounts = new Map(st.accounts.map((a) => [a.qq, a.nick]));
    if (firstTime) renderJournal();
    const filter = $("journal-filter");
    if (filter.options.length !== st.accounts.length + 1) {
      const chosen = filter.value;
      filter.replaceChildren(el("option", { value: "", text: "all" }),
        ...st.accounts.map((a) => el("option", { value: a.qq, text: `${a.nick} (${a.qq})` })));
      filter.value = chosen;
    }
    const s = st.stats;
    const rows = [
      ["SmartQQ sessions", s.sessions], ["polls", s.polls], ["held polls now", s.waiters],
      ["messages injected", s.injected], ["tokens delivered", s.delivered],
      ["client sends", s.replies], ["page messages", s.page_messages],
      ["open chat pages", s.page_watchers], ["QR logins waiting", st.qr_pending],
      ["hosts", Object.entries(s.hosts || {}).map(([h, n]) => `${h || "?"}: ${n}`).join(", ") || "—"],
    ];
    $("stats").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v ?? "—" })]));
    $("sessions").replaceChildren(...(st.sessions.length ? st.sessions.map((x) =>
      el("tr", { "data-testid": "session", "data-qq": x.qq },
        el("td", { text: who(x.qq) }),
        el("td", { text: x.status + (x.expired ? " (expired)" : "") }),
        el("td", { class: "num", text: x.queued }),
        el("td", {},
          el("button", { type: "button", class: "secondary", "data-testid": "expire", onclick: () =>
            act("/_web/api/operator/expire", { qq: x.qq }, () => `Expired ${who(x.qq)}'s session.`) }, "Expire"),
          " ",
          el("button", { type: "button", class: "danger", "data-testid": "kick", onclick: () =>
            act("/_web/api/operator/kick", { qq: x.qq }, () => `Kicked ${who(x.qq)}.`) }, "Kick"))))
      : [el("tr", {}, el("td", { colspan: 4, class: "muted", text: "no client is logged in" }))]));
    $("rules").replaceChildren(...st.faults.map((r) => el("li", { "data-testid": "fault-rule",
      text: `${r.endpoint} → ${r.action}${r.action === "malformed" || r.action === "close" ? "" : " " + r.value}` +
        ` · ${r.mode}${r.mode === "every" ? " " + r.n : ""}${r.mode === "probability" ? " " + r.p : ""}` +
        ` · fired ${r.fired}/${r.hits}${r.spent ? " · spent" : ""}` })));
  }

  // -- journal ------------------------------------------------------------------------

  function idle(e) {
    return e.type === "http" && e.endpoint === "poll2" && !e.fault && !e.events &&
      (e.retcode === 102 || e.retcode === 0 || e.status === 504);
  }

  function describe(e) {
    if (e.type === "http") return [e.method + " " + e.endpoint, e.events ? "delivered " + e.events.join(", ") : (e.note || (e.host ? "host " + e.host : ""))];
    if (e.type === "sent") return ["client sent " + e.kind, `to ${e.kind === "buddy" || e.kind === "sess" ? who(e.to) : e.to}: ${e.text}`];
    if (e.type === "page") return ["web page", e.text || `${e.kind} to ${e.to}, delivered to ${e.delivered} session(s)`];
    if (e.type === "script") return ["world user sent " + e.kind, `to ${e.to}, delivered to ${e.delivered} session(s)`];
    return [e.type, e.text || ""];
  }

  function row(e) {
    const [what, details] = describe(e);
    const bad = (e.retcode !== undefined && e.retcode !== 0 && e.retcode !== 102) || (e.status && e.status >= 400);
    const relogin = e.type === "http" && e.endpoint === "login2" && e.retcode === 0;
    return el("tr", { "data-testid": "journal-entry", "data-type": e.type, "data-endpoint": e.endpoint || "",
      "data-qq": e.qq ?? "", "data-status": e.status ?? "", "data-retcode": e.retcode ?? "",
      "data-fault": e.fault ? "true" : "false", class: (bad ? "bad " : "") + (relogin ? "relogin" : "") },
      el("td", { class: "num", text: clock(e.t) }),
      el("td", { text: who(e.qq) }),
      el("td", {}, what, e.fault ? el("span", { class: "tag fault", text: " fault" }) : null),
      el("td", { class: "num", text: e.status ?? (e.type === "http" ? "closed" : "") }),
      el("td", { class: "num code", text: e.retcode ?? "" }),
      el("td", { text: details }));
  }

  function visible(e) {
    const f = $("journal-filter").value;
    if (f && String(e.qq) !== f) return false;
    return !($("hide-idle").checked && idle(e));
  }

  function renderJournal() {
    const shown = entries.filter(visible).slice(-KEEP).reverse();
    $("journal").replaceChildren(...shown.map(row));
    $("journal-count").textContent = `${shown.length} shown of ${entries.length}`;
  }

  function addEntry(e) {
    entries.push(e);
    if (entries.length > 2000) entries.splice(0, entries.length - 2000);
    if (visible(e)) {
      const body = $("journal");
      body.prepend(row(e));
      while (body.children.length > KEEP) body.lastChild.remove();
      $("journal-count").textContent = `${body.children.length} shown of ${entries.length}`;
    }
  }

  $("journal-filter").addEventListener("change", renderJournal);
  $("hide-idle").addEventListener("change", renderJournal);

  // -- controls -----------------------------------------------------------------------

  $("fault-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = Number($("fault-value").value || 0);
    const n = Number($("fault-n").value || 1);
    const p = Number($("fault-p").value || 1);
    if (!Number.isFinite(value) || !Number.isFinite(n) || !Number.isFinite(p)) { say("Value, N and p must be numbers."); return; }
    const rule = { endpoint: $("fault-endpoint").value.trim() || "*", action: $("fault-action").value,
      value, mode: $("fault-mode").value, n, p };
    act("/_web/api/operator/fault", rule, (r) => `Rule added (${r.rules} active).`);
  });
  $("fault-clear").addEventListener("click", () => act("/_web/api/operator/fault", { clear: true }, () => "Every rule cleared."));
  $("restart").addEventListener("click", () => act("/_web/api/operator/restart", { keep_logins: true }, () => "Restarting; sessions are kept."));
  $("restart-cold").addEventListener("click", () => act("/_web/api/operator/restart", { keep_logins: false }, () => "Cold restart: every client must log in again."));
  $("expire-all").addEventListener("click", () => act("/_web/api/operator/expire", {}, () => "Every session expired."));

  liveSocket("/_web/api/operator/ws", {}, {
    onState: setConn,
    onMessage: (data) => {
      if (data.type === "journal") {
        entries.length = 0;
        entries.push(...data.entries);
        renderJournal();
      } else if (data.type === "entry") addEntry(data.entry);
    },
  });
  refresh();
  setInterval(refresh, 1000);
})();
