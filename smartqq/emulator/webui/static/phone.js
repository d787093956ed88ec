// The phone: lists the QR codes login pages are showing and confirms one as an account.
"use strict";

(() => {
  const { api, el, session, withToken } = SQ;
  const $ = (id) => document.getElementById(id);
  const items = new Map(); // qr id -> li (updated in place so buttons stay put)

  function say(error, notice) {
    $("phone-error").textContent = error || "";
    $("phone-notice").textContent = notice || "";
  }

  function credentials() {
    const qq = $("login-qq").value.trim();
    const password = $("login-password").value;
    if (qq || password) {
      if (!/^\d{1,12}$/.test(qq)) throw new Error("Enter the QQ number (digits only) of the account that confirms.");
      return { qq, password };
    }
    if (session()) return {}; // the account this tab is signed in as on the chat page
    throw new Error("Enter the QQ number and password of the account that confirms the login.");
  }

  async function confirm(id) {
    say("", "");
    let body;
    try { body = credentials(); } catch (e) { say(e.message); return; }
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

  $("phone-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    say("", "");
    let body;
    try { body = credentials(); } catch (e) { say(e.message); return; }
    if (!body.qq) { say("", "Using the account signed in on the chat page."); return; }
    // Checks the password (as the QQ app did when signing in); the account is then used to confirm.
    try {
      const res = await api("/_web/api/phone/check", { body, session: false });
      say("", `${res.nick} (${res.qq}) is ready: confirm a QR login below.`);
    } catch (e) {
      say(e.message);
    }
  });

  function age(p) { return `shown ${Math.round(p.age)} s ago · expires in ${Math.max(0, Math.round(p.expires_in))} s`; }

  async function poll() {
    let res;
    try { res = await api("/_web/api/qr"); } catch (e) { say(e.message); return; }
    const seen = new Set();
    for (const p of res.pending) {
      seen.add(p.id);
      let li = items.get(p.id);
      if (!li) {
        li = el("li", { "data-testid": "qr-pending", "data-id": p.id },
          el("img", { src: withToken(p.image), alt: "QR code " + p.id }),
          el("div", { class: "info" },
            el("div", { class: "age muted" }),
            el("button", { type: "button", "data-testid": "qr-confirm", onclick: () => confirm(p.id) },
              "Confirm login")));
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
    $("as-session").textContent = `With the fields empty, codes are confirmed as ${s.nick} (${s.qq}), signed in in this tab.`;
  }
  poll();
  setInterval(poll, 1000);
})();
