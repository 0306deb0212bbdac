/* The agent console: claim, read, reply, resolve, transfer, release. Hand-written, no
 * libraries. Whatever a customer wrote is shown with textContent only. */
"use strict";

(function () {
  const S = window.Switchboard;
  const View = window.AgentView;
  const Tabs = window.AgentTabs; // several open contacts side by side (agent_tabs.js)
  const $ = function (id) {
    return document.getElementById(id);
  };
  const CLAIM_WAIT_S = 20;
  const TEAMS_KEY = "switchboard.teams";

  const state = {
    me: null,
    teams: [],
    status: "available",
    contact: null,
    claiming: false,
    claimGen: 0,
    ws: null,
    wsRetry: 0,
    heartbeat: null,
    typingTimer: null,
    typedAt: 0,
    ticker: null,
    labels: {},
    drafts: {}, // contact id -> the reply typed in its tab, kept while another is shown
    pushes: {}, // contact id -> how many times the socket pushed it (reload() reads it)
  };

  /* ---------------------------------------------------------------- helpers */

  function toast(text) {
    const node = $("toast");
    node.textContent = text;
    node.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () {
      node.hidden = true;
    }, 4000);
  }

  function label(team) {
    return state.labels[team] || team;
  }

  function typing(target) {
    const tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  /* ---------------------------------------------------------------- sign-in */

  function signedIn(me) {
    state.me = me;
    S.serverTime(me.now);
    state.labels = {};
    me.all_teams.forEach(function (t) {
      state.labels[t.name] = t.label;
    });
    let saved = [];
    try {
      saved = JSON.parse(sessionStorage.getItem(TEAMS_KEY) || "[]");
    } catch (e) {
      saved = [];
    }
    state.teams = saved.filter(function (t) {
      return me.teams.indexOf(t) >= 0;
    });
    if (!state.teams.length) {
      state.teams = me.teams.slice();
    }
    state.status = me.status === "break" ? "break" : "available";
    $("agent-name").textContent = me.name;
    $("whoami").hidden = false;
    $("console").hidden = false;
    renderTeams();
    renderStatus();
    renderChoices();
    Tabs.render(me.capacity || null);
    sendPresence();
    connect();
    clearInterval(state.ticker);
    state.ticker = setInterval(function () {
      View.clocks(state.contact);
    }, 1000);
    restoreHeld();
  }

  function signedOut(message) {
    stopClaiming();
    Tabs.ids().forEach(function (id) {
      Tabs.remove(id);
    });
    state.contact = null;
    closeContact();
    state.me = null;
    if (state.ws) {
      state.ws.onclose = null;
      state.ws.close();
      state.ws = null;
    }
    clearInterval(state.ticker);
    $("whoami").hidden = true;
    $("console").hidden = true;
    $("signin-error").textContent = message || "";
  }

  /* Signing out hands the contacts back at once instead of when their leases run out. */
  async function beforeSignOut() {
    stopClaiming();
    for (const id of Tabs.ids()) {
      await S.api("POST", "/api/contacts/" + encodeURIComponent(id) + "/release");
    }
  }

  /* A reload must not strand the contacts the agent holds: open them again. */
  async function restoreHeld() {
    const ids = Tabs.remembered();
    sessionStorage.removeItem("switchboard.held");
    for (const held of ids) {
      const result = await S.api("GET", "/api/contacts/" + encodeURIComponent(held));
      if (result.status === 200 && result.data.state === "assigned" && result.data.agent === state.me.name) {
        openContact(result.data);
      }
    }
    if (!Tabs.count()) {
      sessionStorage.removeItem("switchboard.open");
    }
  }

  /* ---------------------------------------------------------------- teams, status */

  function renderTeams() {
    const box = $("teams");
    box.replaceChildren();
    state.me.teams.forEach(function (team) {
      const row = S.el("label", "check");
      const input = document.createElement("input");
      input.type = "checkbox";
      input.value = team;
      input.checked = state.teams.indexOf(team) >= 0;
      input.addEventListener("change", onTeamsChanged);
      row.append(input, document.createTextNode(" " + label(team)));
      box.append(row);
    });
  }

  function onTeamsChanged() {
    const chosen = Array.from($("teams").querySelectorAll("input:checked")).map(function (i) {
      return i.value;
    });
    if (!chosen.length) {
      toast("Serve at least one team.");
      renderTeams();
      return;
    }
    state.teams = chosen;
    sessionStorage.setItem(TEAMS_KEY, JSON.stringify(chosen));
    sendPresence();
    if (state.claiming) {
      // Start the long-poll again with the new teams.
      stopClaiming();
      claim();
    }
  }

  function renderStatus() {
    document.querySelectorAll("input[name=status]").forEach(function (input) {
      input.checked = input.value === state.status;
    });
    document.body.classList.toggle("on-break", state.status === "break");
    $("claim").disabled = state.status === "break";
    $("idle-note").textContent =
      state.status === "break" ? "You are on a break: no contacts are claimed." : "";
    showIdle();
  }

  async function sendPresence() {
    const body = { status: state.status, teams: state.teams };
    if (state.ws && state.ws.readyState === WebSocket.OPEN) {
      state.ws.send(JSON.stringify({ type: "serve", teams: state.teams, status: state.status }));
    }
    const result = await S.api("POST", "/api/presence", body);
    if (result.status !== 200) {
      toast(S.errorText(result, "Could not set your availability"));
    }
  }

  function renderChoices() {
    const dispositions = $("disposition");
    dispositions.replaceChildren();
    state.me.dispositions.forEach(function (d) {
      dispositions.append(new Option(d, d));
    });
    renderTransferTeams();
  }

  function renderTransferTeams() {
    const select = $("transfer-team");
    select.replaceChildren();
    state.me.all_teams.forEach(function (t) {
      if (!state.contact || t.name !== state.contact.team) {
        select.append(new Option(t.label, t.name));
      }
    });
  }

  /* ---------------------------------------------------------------- live socket */

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + "/agent/ws");
    state.ws = ws;
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "auth", token: S.token() }));
    };
    ws.onmessage = function (event) {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      onFrame(frame);
    };
    ws.onclose = function (event) {
      setConn(false);
      if (state.ws !== ws || !state.me) {
        return;
      }
      if (event.code === 4401) {
        S.api("GET", "/api/me"); // the token stopped working: this signs the page out
        return;
      }
      state.wsRetry = Math.min(state.wsRetry + 1, 5);
      setTimeout(connect, 1000 * state.wsRetry);
    };
  }

  function setConn(live) {
    const pill = $("conn");
    pill.textContent = live ? "live" : "offline";
    pill.classList.toggle("off", !live);
  }

  function onFrame(frame) {
    if (frame.type === "ready") {
      state.wsRetry = 0;
      setConn(true);
      state.ws.send(JSON.stringify({ type: "serve", teams: state.teams, status: state.status }));
      watchOpen();
    } else if (frame.type === "queues") {
      S.serverTime(frame.at);
      View.queues(frame.queues, state.teams, label);
    } else if (frame.type === "contact") {
      state.pushes[frame.contact.id] = (state.pushes[frame.contact.id] || 0) + 1;
      onContactUpdate(frame.contact);
    } else if (frame.type === "gone") {
      // No longer readable here (transferred away) or no longer there: the tab closes.
      if (Tabs.ids().indexOf(frame.contact_id) >= 0) {
        lostInTab(frame.contact_id, frame.error || "A contact is no longer yours.");
      }
    } else if (frame.type === "typing") {
      if (state.contact && frame.contact_id === state.contact.id) {
        $("typing").hidden = false;
        clearTimeout(state.typingTimer);
        state.typingTimer = setTimeout(function () {
          $("typing").hidden = true;
        }, 4000);
      }
    }
  }

  /* The socket pushes every open contact when it changes (unread marks need them all). */
  function watchOpen() {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) {
      state.ws.send(JSON.stringify({ type: "watch", contact_ids: Tabs.ids() }));
    }
  }

  /* ---------------------------------------------------------------- claiming */

  async function claim() {
    if (state.claiming || state.status !== "available" || !state.me) {
      return;
    }
    if (!Tabs.canClaim(state.me.capacity)) {
      toast("You hold as many contacts as you may (capacity); resolve one first.");
      return;
    }
    state.claiming = true;
    const gen = ++state.claimGen;
    showIdle();
    while (state.claiming && gen === state.claimGen) {
      let result;
      try {
        result = await S.api("POST", "/api/claim", { teams: state.teams, wait_s: CLAIM_WAIT_S });
      } catch (e) {
        $("idle-note").textContent = "The router cannot be reached; trying again…";
        await S.sleep(2000);
        continue;
      }
      const stale = gen !== state.claimGen || !state.claiming;
      if (result.status === 200) {
        if (stale) {
          // The agent stopped waiting while this claim was in flight: hand it back.
          await S.api("POST", "/api/contacts/" + encodeURIComponent(result.data.id) + "/release");
          return;
        }
        state.claiming = false;
        showIdle();
        openContact(result.data);
        return;
      }
      if (stale) {
        return;
      }
      if (result.status !== 204) {
        $("idle-note").textContent = S.errorText(result, "Claiming failed");
        if (result.status === 503) {
          await S.sleep(2000);
          continue;
        }
        break;
      }
      $("idle-note").textContent = "";
    }
    if (gen === state.claimGen) {
      state.claiming = false;
      showIdle();
    }
  }

  function stopClaiming() {
    state.claiming = false;
    state.claimGen += 1;
    showIdle();
  }

  function showIdle() {
    $("waiting").hidden = !state.claiming;
    $("claim").hidden = state.claiming;
    const more = $("claim-more");
    more.disabled = state.claiming || state.status !== "available" || !Tabs.canClaim(state.me && state.me.capacity);
    more.textContent = state.claiming ? "Waiting for a contact…" : "+ Claim next";
  }

  /* ---------------------------------------------------------------- the contact */

  /* Open a contact in a tab of its own and show it; the others stay open beside it. */
  function openContact(contact) {
    Tabs.add(contact);
    showContact(contact);
    watchOpen();
    if (!state.heartbeat) {
      const every = Math.max(1000, (state.me.lease_s * 1000) / 3);
      state.heartbeat = setInterval(heartbeat, every);
    }
    showIdle();
    $("reply").focus();
  }

  /* Show one of the open contacts (its tab was chosen); a reply typed in another tab is
   * kept for it. */
  function showContact(contact) {
    if (state.contact && state.contact.id !== contact.id) {
      state.drafts[state.contact.id] = $("reply").value;
    }
    const changed = !state.contact || state.contact.id !== contact.id;
    state.contact = contact;
    sessionStorage.setItem("switchboard.held", contact.id); // the one shown
    $("idle").hidden = true;
    $("contact").hidden = false;
    if (changed) {
      $("reply-error").textContent = "";
      $("typing").hidden = true;
      $("reply").value = state.drafts[contact.id] || "";
    }
    View.contact(contact, label);
    renderTransferTeams();
  }

  /* The shown contact is done here (resolved, transferred, released, lost): its tab closes
   * and the next open one is shown, or the claim card when none is left. */
  function closeContact(note) {
    const id = state.contact ? state.contact.id : null;
    state.contact = null;
    $("reply").value = "";
    const next = id ? Tabs.remove(id) : null;
    if (id) {
      delete state.drafts[id];
    }
    sessionStorage.removeItem("switchboard.held");
    watchOpen();
    if (next) {
      showContact(next);
    } else {
      clearInterval(state.heartbeat);
      state.heartbeat = null;
      $("contact").hidden = true;
      $("idle").hidden = false;
    }
    showIdle();
    renderStatus();
    if (note) {
      $("idle-note").textContent = note;
    }
    if (state.me && !next) {
      $("claim").focus();
    }
  }

  function lost(message) {
    if (!state.contact) {
      return;
    }
    closeContact(message);
    toast(message);
  }

  /* Close the tab of ``id`` (the one acted on: the socket may have closed it already, and
   * another may be shown now). */
  function closeTab(id, note) {
    if (state.contact && state.contact.id === id) {
      closeContact(note);
    } else if (Tabs.ids().indexOf(id) >= 0) {
      Tabs.remove(id);
      delete state.drafts[id];
      watchOpen();
      showIdle();
    }
  }

  /* A contact shown in no tab but open is gone from the agent: its tab closes. */
  function lostInTab(id, message) {
    if (state.contact && state.contact.id === id) {
      lost(message);
      return;
    }
    Tabs.remove(id);
    delete state.drafts[id];
    watchOpen();
    showIdle();
    toast(message);
  }

  async function heartbeat() {
    for (const id of Tabs.ids()) {
      let result;
      try {
        result = await S.api("POST", "/api/contacts/" + encodeURIComponent(id) + "/heartbeat");
      } catch (e) {
        return; // the next beat tries again; the lease outlasts two missed beats
      }
      if ([403, 404, 409].indexOf(result.status) >= 0 && Tabs.ids().indexOf(id) >= 0) {
        lostInTab(id, "Your lease on a contact ended; it went back to the queue.");
      }
    }
  }

  function onContactUpdate(contact) {
    if (Tabs.ids().indexOf(contact.id) < 0) {
      return;
    }
    if (contact.state !== "assigned" || contact.agent !== state.me.name) {
      lostInTab(contact.id, "A contact is no longer yours (" + contact.state + ").");
      return;
    }
    Tabs.update(contact);
    if (state.contact && contact.id === state.contact.id) {
      state.contact = contact;
      View.contact(contact, label);
    }
  }

  /* Read the shown contact again. An answer that comes after the socket pushed the contact
     is dropped: it may have been read before the push's state, and the server, which
     pushes only changes, would never correct it (the push is at least as new). */
  async function reload() {
    if (!state.contact) {
      return;
    }
    const id = state.contact.id;
    const pushed = state.pushes[id] || 0;
    const result = await S.api("GET", "/api/contacts/" + encodeURIComponent(id));
    if (result.status === 200 && (state.pushes[id] || 0) === pushed) {
      onContactUpdate(result.data);
    }
  }

  async function act(path, body, done) {
    if (!state.contact) {
      return;
    }
    const id = state.contact.id;
    const result = await S.api("POST", "/api/contacts/" + encodeURIComponent(id) + "/" + path, body);
    if (result.status === 200) {
      closeTab(id, done);
      toast(done);
    } else if (result.status === 403 || result.status === 409) {
      closeTab(id, S.errorText(result, "This contact is no longer yours"));
    } else {
      toast(S.errorText(result, "That did not work"));
    }
  }

  async function send() {
    const text = $("reply").value;
    if (!state.contact || !text.trim()) {
      return;
    }
    const error = $("reply-error");
    const button = $("send");
    button.disabled = true;
    error.textContent = "";
    let result;
    try {
      result = await S.api(
        "POST",
        "/api/contacts/" + encodeURIComponent(state.contact.id) + "/reply",
        { text: text }
      );
    } catch (e) {
      error.textContent = "The router cannot be reached; the reply was not sent.";
      button.disabled = false;
      return;
    }
    button.disabled = false;
    if (result.status === 200) {
      $("reply").value = "";
    } else if (result.status === 502) {
      error.textContent =
        "Not delivered: " + S.errorText(result, "the channel refused it") + ". Your text is kept; try again.";
    } else if (result.status === 403 || result.status === 409) {
      lost(S.errorText(result, "This contact is no longer yours"));
      return;
    } else {
      error.textContent = S.errorText(result, "The reply was not sent");
    }
    reload();
  }

  /* Enter sends the reply and Shift+Enter starts a new line, as in the customer chat
     (Ctrl+Enter still sends). Text being composed by an input method, and Enter taken by
     the canned replies' list, are left alone. */
  function onReplyEnter(event) {
    if (event.key !== "Enter" || event.shiftKey || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    if (event.isComposing || event.keyCode === 229 || event.defaultPrevented) {
      return;
    }
    event.preventDefault();
    send();
  }

  /* Tell the customer the agent is typing (web chat shows it), at most every 2 s. */
  function onReplyInput() {
    const now = Date.now();
    if (!state.contact || now - state.typedAt < 2000 || !$("reply").value.trim()) {
      return;
    }
    state.typedAt = now;
    S.api("POST", "/api/contacts/" + encodeURIComponent(state.contact.id) + "/typing").catch(
      function () {}
    );
  }

  function resolve() {
    const disposition = $("disposition").value;
    act("resolve", { disposition: disposition }, "Resolved (" + disposition + ").");
  }

  function transfer() {
    const team = $("transfer-team").value;
    if (team) {
      act("transfer", { team: team }, "Transferred to " + label(team) + ".");
    }
  }

  function release() {
    act("release", null, "Released back to the queue.");
  }

  /* ---------------------------------------------------------------- wiring */

  function onKey(event) {
    if (!state.me) {
      return;
    }
    if (event.altKey && !event.ctrlKey && event.code === "KeyN") {
      event.preventDefault();
      claim();
    } else if (event.altKey && !event.ctrlKey && event.code === "KeyR") {
      event.preventDefault();
      resolve();
    } else if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && event.target === $("reply")) {
      event.preventDefault();
      send();
    } else if (
      (event.key === "c" || event.key === "C") &&
      !event.altKey &&
      !event.ctrlKey &&
      !event.metaKey &&
      !typing(event.target)
    ) {
      event.preventDefault();
      claim();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("claim").addEventListener("click", claim);
    $("claim-more").addEventListener("click", claim);
    Tabs.init({ select: showContact });
    $("stop").addEventListener("click", stopClaiming);
    $("reply-form").addEventListener("submit", function (event) {
      event.preventDefault();
      send();
    });
    $("reply").addEventListener("input", onReplyInput);
    $("reply").addEventListener("keydown", onReplyEnter);
    $("resolve").addEventListener("click", resolve);
    $("transfer").addEventListener("click", transfer);
    $("release").addEventListener("click", release);
    document.querySelectorAll("input[name=status]").forEach(function (input) {
      input.addEventListener("change", function () {
        state.status = input.value;
        if (state.status === "break") {
          stopClaiming();
        }
        renderStatus();
        sendPresence();
      });
    });
    document.addEventListener("keydown", onKey);
    S.signIn({ onSignedIn: signedIn, onSignedOut: signedOut, beforeSignOut: beforeSignOut });
  });
})();
