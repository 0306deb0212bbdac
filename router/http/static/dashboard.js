/* The supervisor dashboard: team KPIs, incidents and the last hour's charts, refreshed
 * every few seconds (?refresh=N sets N seconds, 1..300). Hand-written, no libraries. */
"use strict";

(function () {
  const S = window.Switchboard;
  const $ = function (id) {
    return document.getElementById(id);
  };
  const CHARTS = ["contacts", "waiting", "service_level"];

  const state = { me: null, labels: {}, timer: null, busy: false, again: false };

  function refreshSeconds() {
    const asked = parseFloat(new URLSearchParams(location.search).get("refresh"));
    return isFinite(asked) ? Math.min(300, Math.max(1, asked)) : 5;
  }

  function label(team) {
    if (team === "*") {
      return "All teams";
    }
    return state.labels[team] || team;
  }

  function signedIn(me) {
    state.me = me;
    S.serverTime(me.now);
    state.labels = {};
    me.all_teams.forEach(function (t) {
      state.labels[t.name] = t.label;
    });
    $("agent-name").textContent = me.name;
    $("whoami").hidden = false;
    $("board").hidden = false;
    const select = $("incident-team");
    select.replaceChildren(new Option("All teams", "*"));
    me.all_teams.forEach(function (t) {
      select.append(new Option(t.label, t.name));
    });
    refresh();
    clearInterval(state.timer);
    state.timer = setInterval(refresh, refreshSeconds() * 1000);
  }

  function signedOut(message) {
    clearInterval(state.timer);
    state.me = null;
    $("whoami").hidden = true;
    $("board").hidden = true;
    $("signin-error").textContent = message || "";
  }

  function setConn(live) {
    const pill = $("conn");
    pill.textContent = live ? "live" : "offline";
    pill.classList.toggle("off", !live);
  }

  async function refresh() {
    if (!state.me) {
      return;
    }
    if (state.busy) {
      state.again = true; // refresh once more when this one ends: it may predate a change
      return;
    }
    state.busy = true;
    try {
      const results = await Promise.all([
        S.api("GET", "/api/stats"),
        S.api("GET", "/api/incidents"),
      ]);
      if (results[0].status === 200) {
        renderStats(results[0].data);
      }
      if (results[1].status === 200) {
        renderIncidents(results[1].data);
      }
      await Promise.all(CHARTS.map(loadChart));
      setConn(results[0].status === 200);
    } catch (e) {
      setConn(false);
    } finally {
      state.busy = false;
    }
    if (state.again) {
      state.again = false;
      refresh();
    }
  }

  function renderStats(stats) {
    S.serverTime(stats.at);
    $("updated").textContent = S.clock(stats.at);
    const all = stats.overall;
    $("t-waiting").textContent = all.waiting;
    $("t-longest").textContent = S.duration(all.longest_wait_s);
    $("t-sl").textContent = S.percent(all.service_level);
    $("t-asa").textContent = S.duration(all.asa_s);
    $("t-abandon").textContent = S.percent(all.abandonment_rate);
    $("t-agents").textContent = all.agents_available + " / " + all.agents_busy;
    $("t-waiting").classList.toggle("negative", all.waiting > 0 && all.agents_available === 0);
    const body = $("teams").tBodies[0];
    body.replaceChildren();
    stats.teams.concat([all]).forEach(function (t) {
      const row = document.createElement("tr");
      row.dataset.team = t.team;
      if (t.team === "*") {
        row.className = "total";
      }
      const name = S.el("th", null, label(t.team));
      name.scope = "row";
      row.append(
        name,
        S.el("td", "waiting", t.waiting),
        S.el("td", "longest", S.duration(t.longest_wait_s)),
        S.el("td", "sl", S.percent(t.service_level)),
        S.el("td", "asa", S.duration(t.asa_s)),
        S.el("td", "abandonment", S.percent(t.abandonment_rate)),
        S.el("td", "answered", t.answered),
        S.el("td", "available", t.agents_available),
        S.el("td", "busy", t.agents_busy)
      );
      body.append(row);
    });
  }

  function renderIncidents(incidents) {
    const list = $("incidents");
    list.replaceChildren();
    const open = incidents.filter(function (i) {
      return !i.closed_at;
    });
    open.forEach(function (incident) {
      const item = S.el("li", "incident");
      item.dataset.id = incident.id;
      const text = S.el("div", "incident-text");
      text.append(
        S.el("span", "badge warn", label(incident.team)),
        document.createTextNode(" "),
        S.el("span", "what", incident.text)
      );
      const since = S.el("span", "muted", "since " + S.clock(incident.opened_at));
      const close = S.el("button", "close", "Close");
      close.type = "button";
      close.setAttribute("aria-label", "Close incident: " + incident.text);
      close.addEventListener("click", function () {
        closeIncident(incident.id);
      });
      item.append(text, since, close);
      list.append(item);
    });
    $("no-incidents").hidden = open.length > 0;
  }

  async function loadChart(name) {
    const figure = $("chart-" + name);
    const result = await S.api("GET", "/api/charts/" + name + ".svg");
    if (result.status !== 200 || typeof result.data !== "string") {
      return;
    }
    const doc = new DOMParser().parseFromString(result.data, "image/svg+xml");
    const svg = doc.documentElement;
    if (svg.localName !== "svg" || doc.getElementsByTagName("parsererror").length) {
      return;
    }
    figure.replaceChildren(document.importNode(svg, true));
  }

  async function openIncident(event) {
    event.preventDefault();
    const text = $("incident-text").value.trim();
    if (!text) {
      return;
    }
    const result = await S.api("POST", "/api/incidents", { team: $("incident-team").value, text: text });
    if (result.status === 201) {
      $("incident-text").value = "";
      $("incident-error").textContent = "";
      refresh();
    } else {
      $("incident-error").textContent = S.errorText(result, "The incident was not opened");
    }
  }

  async function closeIncident(id) {
    const result = await S.api("DELETE", "/api/incidents/" + encodeURIComponent(id));
    if (result.status === 200) {
      $("incident-error").textContent = "";
      refresh();
    } else {
      $("incident-error").textContent = S.errorText(result, "The incident was not closed");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("incident-form").addEventListener("submit", openIncident);
    S.signIn({ onSignedIn: signedIn, onSignedOut: signedOut });
  });
})();
