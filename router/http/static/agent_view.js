/* The agent console's views: a contact (facts, account, transcript) and the queue table.
 * Pure rendering into the page's elements; every text goes in through textContent. */
"use strict";

window.AgentView = (function () {
  const S = window.Switchboard;
  const $ = function (id) {
    return document.getElementById(id);
  };

  /* Who wrote a transcript line: the customer, the flow (prompts) or an agent. */
  function kindOf(m) {
    const meta = m.meta || {};
    if (m.direction !== "out") {
      return { kind: "customer", who: "Customer" };
    }
    return meta.flow ? { kind: "flow", who: "Flow" } : { kind: "agent", who: m.author || "Agent" };
  }

  function contact(c, label) {
    const info = c.account_info;
    $("c-channel").textContent = c.channel;
    $("c-channel").dataset.channel = c.channel;
    const verified = $("c-verified");
    verified.textContent = c.verified ? "✓ verified" : "not verified";
    verified.classList.toggle("ok", !!c.verified);
    verified.classList.toggle("warn", !c.verified);
    $("c-name").textContent = info && info.name ? info.name : c.address;
    // A chat's address is its session id: nothing an agent needs to read.
    $("c-address").textContent = c.channel === "chat" ? "" : c.address;
    $("c-account").textContent = c.account || "–";
    $("c-number").textContent = info ? info.number : "–";
    $("c-tier").textContent = info ? info.tier : "–";
    const balance = $("c-balance");
    balance.textContent = info ? info.balance : "–";
    balance.classList.toggle("negative", !!info && parseFloat(info.balance) < 0);
    $("c-team").textContent = label(c.team);
    $("c-waited").textContent = S.duration(c.waited_s);
    const services = $("c-services");
    services.replaceChildren();
    ((info && info.services) || []).forEach(function (s) {
      services.append(S.el("li", "tag", s));
    });
    if (!services.children.length) {
      services.append(S.el("li", "muted", "none known"));
    }
    compensation(c.compensation || []);
    callback(c.callback || null);
    if (window.AgentTimeline) {
      window.AgentTimeline.show(c, label); // history, notes and tags (agent_timeline.js)
    }
    if (window.AgentCanned) {
      window.AgentCanned.contact(c); // canned replies typed with "/" (agent_canned.js)
    }
    clocks(c);
    transcript(c.messages);
  }

  /* What an outage makes due to a verified customer: per incident, per service type. */
  function compensation(items) {
    const box = $("c-compensation");
    const list = $("c-compensation-list");
    list.replaceChildren();
    items.forEach(function (due) {
      const item = S.el("li", "due");
      item.dataset.incident = due.incident;
      const head = S.el("p", "due-head");
      head.append(
        S.el("strong", "amount", due.amount_pln + " PLN"),
        document.createTextNode(" for “" + due.text + "”")
      );
      if (due.provisional) {
        head.append(S.el("span", "badge warn", "provisional: outage still open"));
      }
      item.append(head);
      const lines = S.el("ul", "due-lines");
      due.services.forEach(function (s) {
        const days = s.days === 1 ? "1 day" : s.days + " days";
        const line = S.el("li", null, s.service + ": " + s.duration + " down, " + days + ", " +
          s.amount_pln + " PLN (" + s.rule + ")");
        line.dataset.service = s.service;
        lines.append(line);
        s.notes.forEach(function (note) {
          lines.append(S.el("li", "muted", note));
        });
      });
      item.append(lines);
      list.append(item);
    });
    box.hidden = !items.length;
  }

  /* A voice caller's callback keeping the place: the number, and how the tries go. The box
   * is made here, before the compensation box, the first time a contact needs one. */
  function callback(cb) {
    let box = $("c-callback");
    if (!box && !cb) {
      return;
    }
    if (!box) {
      box = S.el("section", "callback");
      box.id = "c-callback";
      box.setAttribute("aria-live", "polite");
      const anchor = $("c-compensation");
      anchor.parentNode.insertBefore(box, anchor);
    }
    box.replaceChildren();
    box.hidden = !cb;
    if (!cb) {
      return;
    }
    box.dataset.state = cb.state;
    const tries = cb.max_attempts ? cb.attempts + " of " + cb.max_attempts : String(cb.attempts);
    const head = S.el("p", "callback-head");
    head.append(
      S.el("strong", null, "Callback to "),
      S.el("span", "callback-number", cb.number),
      document.createTextNode(" "),
      S.el("span", "badge " + (cb.state === "failed" ? "warn" : "ok"), cb.state)
    );
    let line;
    if (cb.state === "booked" && cb.attempts === 0) {
      line = "The customer left the call and kept their place; the router calls them when an " +
        "agent takes the contact" + (Date.parse(cb.due_at) > S.now() ? ", from " +
        S.clock(cb.due_at) + " (opening)." : ".");
    } else if (cb.state === "booked") {
      line = "Try " + tries + ": " + (cb.last_status || "no answer") + "; next try at " +
        S.clock(cb.due_at) + ".";
    } else if (cb.state === "calling") {
      line = "Calling the customer, try " + tries + "…";
    } else if (cb.state === "connected") {
      line = "The customer answered (try " + tries + ") and is put through to you.";
    } else if (cb.state === "failed") {
      line = "Nobody answered " + tries + " tries (last: " + (cb.last_status || "no answer") +
        ")" + (cb.sms ? "; the customer was sent an SMS." : ".") + " Resolve it with a disposition.";
    } else {
      line = "The caller was put through while booking; no callback.";
    }
    box.append(head, S.el("p", "callback-line", line));
  }

  function clocks(c) {
    if (!c) {
      return;
    }
    const due = $("c-sla");
    const left = $("c-sla-left");
    if (!c.sla_due) {
      due.textContent = "–";
      left.textContent = "–";
      return;
    }
    const seconds = (Date.parse(c.sla_due) - S.now()) / 1000;
    due.textContent = S.clock(c.sla_due);
    left.textContent = seconds >= 0 ? S.duration(seconds) : "overdue " + S.duration(-seconds);
    due.classList.toggle("negative", seconds < 0);
    left.classList.toggle("negative", seconds < 0);
  }

  function transcript(messages) {
    const list = $("transcript");
    list.replaceChildren();
    messages.forEach(function (m) {
      const meta = m.meta || {};
      const author = kindOf(m);
      const item = S.el("li", "msg " + author.kind);
      item.dataset.kind = author.kind;
      const head = S.el("div", "msg-head");
      head.append(S.el("span", "who", author.who), S.el("time", null, S.clock(m.at)));
      const body = S.el("p", "text", meta.timeout ? "(no answer)" : m.text);
      item.append(head, body);
      if (meta.delivery === "failed") {
        item.classList.add("failed");
        item.append(S.el("p", "delivery", "Not delivered: " + (meta.reason || "unknown reason")));
      }
      list.append(item);
    });
    list.scrollTop = list.scrollHeight; // the newest message is what the agent answers
  }

  function queues(rows, mine, label) {
    const body = $("queues").tBodies[0];
    body.replaceChildren();
    rows.forEach(function (q) {
      const row = document.createElement("tr");
      row.dataset.team = q.team;
      const name = S.el("th", null, label(q.team));
      name.scope = "row";
      row.append(
        name,
        S.el("td", "waiting-count", q.waiting),
        S.el("td", null, q.oldest_wait_s === null ? "–" : S.duration(q.oldest_wait_s)),
        S.el("td", null, q.agents_available + " / " + q.agents_busy)
      );
      if (mine.indexOf(q.team) >= 0) {
        row.classList.add("mine");
      }
      if (q.waiting > 0) {
        row.classList.add("busy");
      }
      body.append(row);
    });
  }

  return { clocks: clocks, contact: contact, queues: queues, transcript: transcript };
})();
