/* The agent console's open contacts: one tab each, side by side, with an unread mark when
 * a customer writes in a tab that is not shown, and the agent's load against their
 * capacity per channel (the store enforces it; the console only says it). Every text goes
 * in through textContent. */
"use strict";

window.AgentTabs = (function () {
  const S = window.Switchboard;
  const $ = function (id) {
    return document.getElementById(id);
  };
  const OPEN_KEY = "switchboard.open";

  const tabs = new Map(); // contact id -> {contact, unread, inbound}
  let active = null;
  let handlers = { select: function () {} };

  function inbound(contact) {
    return (contact.messages || []).filter(function (m) {
      return m.direction !== "out";
    }).length;
  }

  function init(on) {
    handlers = on;
  }

  function remember() {
    sessionStorage.setItem(OPEN_KEY, JSON.stringify(Array.from(tabs.keys())));
  }

  /* The ids open before a reload (and the one-contact console's, for its tabs). */
  function remembered() {
    let ids = [];
    try {
      ids = JSON.parse(sessionStorage.getItem(OPEN_KEY) || "[]");
    } catch (e) {
      ids = [];
    }
    const held = sessionStorage.getItem("switchboard.held");
    if (held && ids.indexOf(held) < 0) {
      ids.push(held);
    }
    return ids.filter(function (id) {
      return typeof id === "string";
    });
  }

  /* Open (or refresh) a contact's tab and show it. */
  function add(contact) {
    tabs.set(contact.id, { contact: contact, unread: false, inbound: inbound(contact) });
    active = contact.id;
    remember();
    render();
  }

  /* A newer copy of an open contact; marks it unread when the customer wrote and its tab is
   * not the one shown. Returns whether the contact is open here. */
  function update(contact) {
    const tab = tabs.get(contact.id);
    if (!tab) {
      return false;
    }
    const count = inbound(contact);
    if (contact.id !== active && count > tab.inbound) {
      tab.unread = true;
    }
    tab.contact = contact;
    tab.inbound = count;
    render();
    return true;
  }

  /* Close a tab; returns the contact to show next (the tab before it), or null. */
  function remove(id) {
    const order = Array.from(tabs.keys());
    const at = order.indexOf(id);
    tabs.delete(id);
    remember();
    if (active === id) {
      const rest = Array.from(tabs.keys());
      active = rest.length ? rest[Math.max(0, at - 1)] : null;
      if (active) {
        tabs.get(active).unread = false;
      }
    }
    render();
    return active ? tabs.get(active).contact : null;
  }

  function select(id) {
    const tab = tabs.get(id);
    if (!tab || id === active) {
      return;
    }
    active = id;
    tab.unread = false;
    render();
    handlers.select(tab.contact);
  }

  function ids() {
    return Array.from(tabs.keys());
  }

  function contacts() {
    return Array.from(tabs.values()).map(function (t) {
      return t.contact;
    });
  }

  function count() {
    return tabs.size;
  }

  /* What the open tabs hold per channel. */
  function load() {
    const held = {};
    tabs.forEach(function (tab) {
      held[tab.contact.channel] = (held[tab.contact.channel] || 0) + 1;
    });
    return held;
  }

  /* Whether one more contact may be claimed with what the tabs hold (queues.Capacity.closed:
   * an exclusive channel's contact is held alone; a channel at its limit is closed). The
   * store decides; this only spares a claim that cannot succeed. */
  function canClaim(capacity) {
    if (!capacity) {
      return true;
    }
    const held = load();
    const channels = Object.keys(held);
    const exclusive = capacity.exclusive || [];
    if (channels.some(function (ch) { return exclusive.indexOf(ch) >= 0; })) {
      return false;
    }
    const all = ["voice", "chat", "email", "sms", "telegram"];
    return all.some(function (ch) {
      if (channels.length && exclusive.indexOf(ch) >= 0) {
        return false;
      }
      const limit = capacity.limits[ch];
      return limit === undefined || (held[ch] || 0) < limit;
    });
  }

  function loadText(capacity) {
    const held = load();
    if (!capacity) {
      return "";
    }
    return Object.keys(capacity.limits)
      .filter(function (ch) { return held[ch]; })
      .map(function (ch) { return ch + " " + held[ch] + "/" + capacity.limits[ch]; })
      .join(" · ");
  }

  function name(contact) {
    const info = contact.account_info;
    if (info && info.name) {
      return info.name;
    }
    return contact.channel === "chat" ? "Chat " + contact.id.slice(-4) : contact.address;
  }

  function render(capacity) {
    const list = $("tab-list");
    if (!list) {
      return;
    }
    if (capacity !== undefined) {
      render.capacity = capacity;
    }
    list.replaceChildren();
    tabs.forEach(function (tab, id) {
      const button = S.el("button", "tab");
      button.type = "button";
      button.setAttribute("role", "tab");
      button.setAttribute("aria-selected", id === active ? "true" : "false");
      button.dataset.contact = id;
      button.dataset.channel = tab.contact.channel;
      const badge = S.el("span", "badge channel", tab.contact.channel);
      badge.dataset.channel = tab.contact.channel;
      button.append(badge, S.el("span", "tab-name", name(tab.contact)));
      if (tab.unread) {
        button.classList.add("unread");
        button.append(S.el("span", "unread-dot", "new"));
      }
      button.addEventListener("click", function () {
        select(id);
      });
      list.append(button);
    });
    $("tabs").hidden = tabs.size === 0;
    $("tab-load").textContent = loadText(render.capacity);
  }

  return {
    add: add,
    canClaim: canClaim,
    contacts: contacts,
    count: count,
    ids: ids,
    init: init,
    remembered: remembered,
    remove: remove,
    render: render,
    select: select,
    update: update,
    active: function () {
      return active;
    },
  };
})();
