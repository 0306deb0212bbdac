/* The agent console's canned replies: typing "/" in the reply box (at its start or after a
 * space) opens a list of the replies for the contact's team and language, filled for the
 * contact by the server (GET /api/canned?contact_id=); the words typed after "/" search
 * them (read again each time the list opens); Up/Down choose, Enter or Tab put the reply in place of "/words", Escape closes.
 * A placeholder nothing could fill (an unverified customer's {name}) is left in the text
 * and selected, for the agent to type over. Every text goes in through textContent. */
"use strict";

window.AgentCanned = (function () {
  const S = window.Switchboard;
  const $ = function (id) {
    return document.getElementById(id);
  };
  const MAX_SHOWN = 8;

  let contact = null; // the contact on screen
  let replies = null; // its replies, filled for it (read when the list first opens)
  let readFor = null; // the contact id ``replies`` were (or are being) read for
  let matches = [];
  let chosen = 0;
  let open = false;

  function list() {
    let node = $("canned");
    if (node) {
      return node;
    }
    node = S.el("ul", "canned");
    node.id = "canned";
    node.setAttribute("role", "listbox");
    node.setAttribute("aria-label", "Canned replies");
    node.hidden = true;
    const reply = $("reply");
    reply.parentNode.insertBefore(node, reply.nextSibling);
    return node;
  }

  /* The "/words" being typed at the caret: {start, query}, or null. */
  function token(textarea) {
    const upto = textarea.value.slice(0, textarea.selectionStart);
    const match = /(^|\s)\/([^\s/]*(?: [^\s/]*)*)$/.exec(upto);
    if (!match || textarea.selectionStart !== textarea.selectionEnd) {
      return null;
    }
    return { start: match.index + match[1].length, query: match[2] };
  }

  function words(text) {
    return text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) || [];
  }

  function matching(query) {
    const wanted = words(query);
    return (replies || []).filter(function (r) {
      const hay = words(r.id + " " + r.title + " " + r.filled);
      return wanted.every(function (w) {
        return hay.some(function (h) {
          return h.startsWith(w);
        });
      });
    });
  }

  function draw() {
    const node = list();
    node.replaceChildren();
    if (replies === null) {
      node.append(S.el("li", "canned-note muted", "Reading the canned replies…"));
    } else if (!matches.length) {
      node.append(S.el("li", "canned-note muted", "No canned reply matches; go on typing."));
    }
    matches.slice(0, MAX_SHOWN).forEach(function (r, n) {
      const item = S.el("li", "canned-item");
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", n === chosen ? "true" : "false");
      item.dataset.reply = r.id;
      const head = S.el("div", "canned-head");
      head.append(S.el("strong", "canned-title", r.title));
      head.append(S.el("span", "muted", (r.team || "every team") + " · " + r.language));
      item.append(head, S.el("p", "canned-text", r.filled));
      item.addEventListener("mousedown", function (event) {
        event.preventDefault(); // keep the focus in the reply box
        chosen = n;
        pick();
      });
      node.append(item);
    });
    node.hidden = false;
    open = true;
  }

  function close() {
    open = false;
    matches = [];
    chosen = 0;
    const node = $("canned");
    if (node) {
      node.hidden = true;
    }
  }

  /* Read the contact's replies again (each time the list opens: another agent or process
   * may have changed them); until they come, what was read before for it is shown. */
  async function read(id) {
    if (readFor !== id) {
      replies = null;
    }
    readFor = id;
    const result = await S.api("GET", "/api/canned?contact_id=" + encodeURIComponent(id));
    if (readFor !== id) {
      return;
    }
    replies = result.status === 200 ? result.data : [];
    if (result.status !== 200) {
      readFor = null; // try again at the next "/"
    }
    refresh();
  }

  /* The list follows what is typed. */
  function refresh() {
    const textarea = $("reply");
    const at = contact ? token(textarea) : null;
    if (!at) {
      close();
      return;
    }
    if (!open || readFor !== contact.id) {
      read(contact.id);
    }
    matches = matching(at.query);
    chosen = Math.min(chosen, Math.max(0, Math.min(matches.length, MAX_SHOWN) - 1));
    draw();
  }

  /* Put the chosen reply in place of "/words"; select the first placeholder left. */
  function pick() {
    const textarea = $("reply");
    const at = token(textarea);
    const reply = matches[chosen];
    if (!at || !reply) {
      close();
      return;
    }
    const before = textarea.value.slice(0, at.start);
    const after = textarea.value.slice(textarea.selectionStart);
    textarea.value = before + reply.filled + after;
    let caret = before.length + reply.filled.length;
    let end = caret;
    if (reply.unfilled.length) {
      const hole = "{" + reply.unfilled[0] + "}";
      const where = reply.filled.indexOf(hole);
      if (where >= 0) {
        caret = before.length + where;
        end = caret + hole.length;
      }
    }
    close();
    textarea.focus();
    textarea.setSelectionRange(caret, end);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  /* Keys the list takes while it is open, before anything else sees them (capture). */
  function onKey(event) {
    if (!open) {
      return;
    }
    const shown = Math.min(matches.length, MAX_SHOWN);
    let handled = true;
    if (event.key === "ArrowDown" && shown) {
      chosen = (chosen + 1) % shown;
      draw();
    } else if (event.key === "ArrowUp" && shown) {
      chosen = (chosen + shown - 1) % shown;
      draw();
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && shown) {
      pick();
    } else if (event.key === "Escape") {
      close();
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }

  /* The contact on screen (AgentView.contact calls this with every copy of it). */
  function setContact(c) {
    if (!contact || contact.id !== c.id) {
      replies = null;
      readFor = null;
      close();
    }
    contact = c;
  }

  document.addEventListener("DOMContentLoaded", function () {
    const textarea = $("reply");
    if (!textarea) {
      return;
    }
    textarea.addEventListener("keydown", onKey, true);
    textarea.addEventListener("input", refresh);
    textarea.addEventListener("click", refresh);
    textarea.addEventListener("blur", function () {
      setTimeout(close, 150);
    });
  });

  return { contact: setContact };
})();
