// The phone: lists the QR codes login pages are showing and confirms one as an account.
"use strict";

(() => {
  const { api, el, session, withToken } = SQ;
  const $ = (id) => document.getElementById(id);
  const items = new Map(); // qr id -> li (updated in place: typed fields and buttons stay put)

  function say(error, notice) {
    $("phone-error").textContent = error || "";
    $("phone-notice").textContent = notice || "";
  }

  // Who confirms: the QQ number and password typed next to the code, or (both left
  // empty, or only the number of) the account this tab is signed in as on the chat page.
  function credentials(form) {
    const qq = form.querySelector("[data-testid=login-qq]").value.trim();
    const password = form.querySelector("[data-testid=login-password]").value;
    const s = session();
    if (!password && s && (!qq || qq === String(s.qq))) return {};
    if (!/^\d{1,12}$/.test(qq)) throw new Error("Enter the QQ number (digits only) of the account that confirms the login.");
    if (!password) throw new Error("Enter the account's password.");
    return { qq, password };
  }

  async function confirm(id, form) {
    say("", "");
    let body;
    try { body = credentials(form); } catch (e) { say(e.message); return; }
    try {
      const res = await api(`/_web/api/qr/${id}/confirm`, { body });
      say("", `Confirmed: the waiting client logs in as ${res.qq}.`);
      const li = items.get(id);
      if (li) { li.remove(); items.delete(id); }
      await poll();
    } catch (e) {
      say(e.message);
    }
  }

  function age(p) { return `shown ${Math.round(p.age)} s ago · expires in ${Math.max(0, Math.round(p.expires_in))} s`; }

  function item(p) {
    const s = session();
    const form = el("form", { class: "confirm", novalidate: true },
      el("label", {}, "QQ number",
        el("input", { "data-testid": "login-qq", inputmode: "numeric", autocomplete: "username",
          value: s ? s.qq : null })),
      el("label", {}, "Password",
        el("input", { "data-testid": "login-password", type: "password", autocomplete: "current-password" })),
      el("button", { type: "submit", "data-testid": "qr-confirm" }, "Confirm login"));
    form.addEventListener("submit", (ev) => { ev.preventDefault(); confirm(p.id, form); });
    return el("li", { "data-testid": "qr-pending", "data-id": p.id },
      el("img", { src: withToken(p.image), alt: "QR code " + p.id }),
      el("div", { class: "info" }, el("div", { class: "age muted" }), form));
  }

  async function poll() {
    let res;
    try { res = await api("/_web/api/qr"); } catch (e) { say(e.message); return; }
    const seen = new Set();
    for (const p of res.pending) {
      seen.add(p.id);
      let li = items.get(p.id);
      if (!li) {
        li = item(p);
        items.set(p.id, li);
        $("qr-list").prepend(li);
      }
      li.querySelector(".age").textContent = age(p) + (p.scanned ? " · scanned" : "");
    }
    for (const [id, li] of items) if (!seen.has(id)) { li.remove(); items.delete(id); }
    $("qr-empty").hidden = items.size > 0;
    $("qr-count").textContent = items.size ? `(${items.size})` : "";
  }

  const s = session();
  if (s) {
    $("whoami").textContent = `${s.nick} (${s.qq})`;
    $("as-session").hidden = false;
    $("as-session").textContent = `Signed in as ${s.nick} (${s.qq}) in this tab: leave the password empty to confirm as ${s.nick}.`;
  }
  poll();
  setInterval(poll, 1000);
})();
