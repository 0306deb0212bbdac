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
    startSuggestions();
  }

  function signedOut(message) {
    clearInterval(state.timer);
    stopSuggestions();
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
        renderStaffing(results[0].data);
        renderOutcomes(results[0].data);
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

  // Handling and outcomes: AHT with the after-contact work, CSAT and first-contact
  // resolution per team and overall, as /api/stats counts them over the last hour.
  function renderOutcomes(stats) {
    const all = stats.overall;
    $("t-csat").textContent = S.percent(all.csat);
    $("t-fcr").textContent = S.percent(all.fcr);
    const body = $("outcomes").tBodies[0];
    body.replaceChildren();
    stats.teams.concat([all]).forEach(function (t) {
      const row = document.createElement("tr");
      row.dataset.team = t.team;
      if (t.team === "*") {
        row.className = "total";
      }
      const name = S.el("th", null, label(t.team));
      name.scope = "row";
      const mean = t.csat_mean === null || t.csat_mean === undefined ? "–" : t.csat_mean.toFixed(1);
      row.append(
        name,
        S.el("td", "resolved", t.resolved),
        S.el("td", "aht", S.duration(t.aht_s)),
        S.el("td", "acw", S.duration(t.acw_s)),
        S.el("td", "surveys", t.surveys_answered + " / " + t.surveys_asked),
        S.el("td", "csat", S.percent(t.csat)),
        S.el("td", "csat-mean", mean),
        S.el("td", "fcr-counts", t.fcr_resolved + " / " + t.fcr_returned),
        S.el("td", "fcr", S.percent(t.fcr))
      );
      body.append(row);
    });
  }

  // "Agents needed now": each team's staffing figure from /api/stats (Erlang C on the last
  // hour's arrivals and AHT), against the agents logged in. Hidden when the server sends none.
  function renderStaffing(stats) {
    const all = stats.overall.staffing;
    $("staffing-card").hidden = !all;
    if (!all) {
      $("t-needed").textContent = "–";
      return;
    }
    $("t-needed").textContent = staffNumber(all.agents_needed) + " / " + all.agents_logged_in;
    $("t-needed").classList.toggle("negative", all.shortfall !== null && all.shortfall > 0);
    $("staffing-goal").textContent =
      "(" + S.percent(all.target) + " answered within " + S.duration(all.within_s) + ", " +
      all.channel + "'s target)";
    const body = $("staffing").tBodies[0];
    body.replaceChildren();
    stats.teams.concat([stats.overall]).forEach(function (t) {
      const s = t.staffing;
      if (!s) {
        return;
      }
      const row = document.createElement("tr");
      row.dataset.team = t.team;
      if (t.team === "*") {
        row.className = "total";
      }
      const name = S.el("th", null, label(t.team));
      name.scope = "row";
      const gap = S.el("td", "gap", staffGap(s.shortfall));
      gap.classList.toggle("negative", s.shortfall !== null && s.shortfall > 0);
      row.append(
        name,
        S.el("td", "arrivals", s.arrivals_last_hour),
        S.el("td", "aht", S.duration(s.aht_s)),
        S.el("td", "traffic", s.traffic_erl === null ? "–" : s.traffic_erl.toFixed(2) + " E"),
        S.el("td", "needed", staffNumber(s.agents_needed)),
        S.el("td", "logged-in", s.agents_logged_in),
        gap
      );
      body.append(row);
    });
  }

  function staffNumber(n) {
    return n === null || n === undefined ? "–" : String(n);
  }

  function staffGap(shortfall) {
    if (shortfall === null || shortfall === undefined) {
      return "–";
    }
    if (shortfall > 0) {
      return shortfall + " short";
    }
    return shortfall === 0 ? "even" : -shortfall + " spare";
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

  // Suggested incidents: GET /api/incidents/suggestions every SUGGEST_S seconds (or the
  // page's ?refresh= when shorter). Items are kept across polls, so an announcement being
  // edited is not overwritten; "Open incident" opens it with the texts as they stand.
  const SUGGEST_S = 3;
  const suggestions = { timer: null, busy: false };

  function startSuggestions() {
    stopSuggestions();
    pollSuggestions();
    const every = Math.min(SUGGEST_S, refreshSeconds());
    suggestions.timer = setInterval(pollSuggestions, every * 1000);
  }

  function stopSuggestions() {
    clearInterval(suggestions.timer);
    suggestions.timer = null;
  }

  async function pollSuggestions() {
    if (!state.me || suggestions.busy) {
      return;
    }
    suggestions.busy = true;
    try {
      const result = await S.api("GET", "/api/incidents/suggestions");
      if (result.status === 200 && Array.isArray(result.data)) {
        renderSuggestions(result.data);
      }
    } catch (e) {
      // the main refresh shows the connection; the next poll tries again
    } finally {
      suggestions.busy = false;
    }
  }

  function renderSuggestions(found) {
    const list = $("suggestions");
    const seen = new Set();
    found.forEach(function (s) {
      seen.add(s.id);
      let item = list.querySelector('li[data-id="' + CSS.escape(s.id) + '"]');
      if (!item) {
        item = suggestionItem(s);
        list.append(item);
      }
      item.querySelector(".count").textContent = suggestionCount(s);
    });
    Array.from(list.children).forEach(function (item) {
      if (!seen.has(item.dataset.id)) {
        item.remove();
      }
    });
    $("suggestions-card").hidden = found.length === 0;
  }

  function suggestionCount(s) {
    return (
      s.count + " in " + S.duration(s.window_s) + " (usually " + s.expected.toFixed(1) + ")"
    );
  }

  function suggestionItem(s) {
    const item = S.el("li", "suggestion");
    item.dataset.id = s.id;
    const head = S.el("div", "suggestion-head");
    head.append(
      S.el("span", "badge warn", label(s.team)),
      S.el("strong", "topic", s.topic ? s.topic.replace(/\+/g, " + ") : "More contacts than usual"),
      S.el("span", "count muted", suggestionCount(s)),
      S.el("span", "muted", "since " + S.clock(s.first_at))
    );
    const texts = S.el("div", "suggestion-texts");
    Object.keys(s.text).forEach(function (language) {
      const id = "suggestion-" + s.id + "-" + language;
      const name = S.el("label", null, language);
      name.htmlFor = id;
      const input = S.el("input", null);
      input.id = id;
      input.type = "text";
      input.maxLength = 500;
      input.dir = "auto";
      input.lang = language;
      input.dataset.language = language;
      input.value = s.text[language];
      texts.append(name, input);
    });
    const open = S.el("button", "primary open", "Open incident");
    open.type = "button";
    open.addEventListener("click", function () {
      openSuggestion(item, open);
    });
    const dismiss = S.el("button", "quiet dismiss", "Dismiss");
    dismiss.type = "button";
    dismiss.addEventListener("click", function () {
      dismissSuggestion(item);
    });
    const actions = S.el("div", "suggestion-actions");
    actions.append(open, dismiss);
    item.append(head, texts, actions);
    return item;
  }

  async function openSuggestion(item, button) {
    const text = {};
    item.querySelectorAll("input[data-language]").forEach(function (input) {
      if (input.value.trim()) {
        text[input.dataset.language] = input.value.trim();
      }
    });
    button.disabled = true;
    const body = { from_suggestion: item.dataset.id, text: text };
    const result = await S.api("POST", "/api/incidents", body);
    button.disabled = false;
    if (result.status === 201) {
      item.remove();
      $("suggestion-error").textContent = "";
      $("suggestions-card").hidden = !$("suggestions").children.length;
      refresh();
    } else {
      $("suggestion-error").textContent = S.errorText(result, "The incident was not opened");
    }
  }

  async function dismissSuggestion(item) {
    const path = "/api/incidents/suggestions/" + encodeURIComponent(item.dataset.id);
    const result = await S.api("DELETE", path);
    if (result.status === 200 || result.status === 404) {
      item.remove();
      $("suggestions-card").hidden = !$("suggestions").children.length;
    } else {
      $("suggestion-error").textContent = S.errorText(result, "The suggestion was not dismissed");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("incident-form").addEventListener("submit", openIncident);
    S.signIn({ onSignedIn: signedIn, onSignedOut: signedOut });
  });
})();
