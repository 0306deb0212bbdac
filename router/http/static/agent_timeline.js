/* The agent console's customer timeline: the verified customer's other contacts on every
 * channel (channel, when, team, disposition, notes, tags), and the notes and tags of the
 * contact shown, which the agent adds to. Shown by AgentView.contact for the contact on
 * screen; the history is read once per contact shown (GET /api/contacts/{id}/timeline),
 * the notes and tags come with every copy of the contact. Every text goes in through
 * textContent. */
"use strict";

window.AgentTimeline = (function () {
  const S = window.Switchboard;
  const $ = function (id) {
    return document.getElementById(id);
  };

  let shown = null; // the contact on screen
  let label = function (team) {
    return team;
  };
  let fetched = null; // the contact id whose history is drawn (or being read)
  const TAG = /^[\p{L}\p{N}][\p{L}\p{N}_-]{0,31}$/u;

  function path(id, tail) {
    return "/api/contacts/" + encodeURIComponent(id) + tail;
  }

  /* The section, made the first time, between the contact's header and its transcript. */
  function box() {
    let section = $("c-timeline");
    if (section) {
      return section;
    }
    section = S.el("section", "timeline");
    section.id = "c-timeline";
    section.setAttribute("aria-label", "Customer timeline");

    const history = S.el("div", "tl-history");
    const heading = S.el("h3", null, "Customer history ");
    heading.id = "c-history-heading";
    const count = S.el("span", "muted tl-count");
    count.id = "c-history-count";
    heading.append(count);
    const empty = S.el("p", "muted tl-empty");
    empty.id = "c-history-empty";
    const list = S.el("ol", "tl-list");
    list.id = "c-history";
    list.setAttribute("aria-labelledby", "c-history-heading");
    history.append(heading, empty, list);

    const notes = S.el("div", "tl-own");
    notes.append(S.el("h3", null, "Notes and tags"));
    const tags = S.el("ul", "tags tl-tags");
    tags.id = "c-tags";
    const tagForm = S.el("form", "tl-tag-form");
    tagForm.id = "tag-form";
    const tagInput = S.el("input");
    tagInput.id = "tag-input";
    tagInput.placeholder = "add a tag, e.g. outage";
    tagInput.maxLength = 32;
    tagInput.setAttribute("aria-label", "Add a tag");
    tagInput.autocomplete = "off";
    const tagButton = S.el("button", "quiet", "Tag");
    tagButton.type = "submit";
    tagForm.append(tagInput, tagButton);
    const noteList = S.el("ol", "tl-notes");
    noteList.id = "c-notes";
    const noteForm = S.el("form", "tl-note-form");
    noteForm.id = "note-form";
    const noteLabel = S.el("label", null, "Note for the next agent");
    noteLabel.htmlFor = "note-text";
    const noteText = S.el("textarea");
    noteText.id = "note-text";
    noteText.rows = 2;
    noteText.maxLength = 2000;
    const noteButton = S.el("button", null, "Add note");
    noteButton.type = "submit";
    noteButton.id = "note-add";
    const error = S.el("p", "error");
    error.id = "note-error";
    error.setAttribute("role", "alert");
    noteForm.append(noteLabel, noteText, noteButton, error);
    notes.append(tags, tagForm, noteList, noteForm);

    section.append(history, notes);
    const head = document.querySelector("#contact .contact-head");
    head.parentNode.insertBefore(section, head.nextSibling);
    tagForm.addEventListener("submit", function (event) {
      event.preventDefault();
      addTag();
    });
    noteForm.addEventListener("submit", function (event) {
      event.preventDefault();
      addNote();
    });
    return section;
  }

  /* ------------------------------------------------------------ the contact's own */

  function notesOf(contact) {
    return (contact.meta && contact.meta.notes) || [];
  }

  function tagsOf(contact) {
    return (contact.meta && contact.meta.tags) || [];
  }

  function drawNotes(list, notes) {
    list.replaceChildren();
    notes.forEach(function (note) {
      const item = S.el("li", "tl-note");
      const head = S.el("div", "tl-note-head");
      head.append(S.el("strong", null, note.agent), S.el("time", "muted", S.clock(note.at)));
      item.append(head, S.el("p", "tl-note-text", note.text));
      list.append(item);
    });
  }

  function drawOwn(contact) {
    const tags = $("c-tags");
    tags.replaceChildren();
    tagsOf(contact).forEach(function (tag) {
      const chip = S.el("li", "tag tl-tag");
      chip.dataset.tag = tag;
      const remove = S.el("button", "tl-untag", "×");
      remove.type = "button";
      remove.setAttribute("aria-label", "Remove tag " + tag);
      remove.addEventListener("click", function () {
        putTags(tagsOf(shown).filter(function (t) {
          return t !== tag;
        }));
      });
      chip.append(document.createTextNode(tag + " "), remove);
      tags.append(chip);
    });
    drawNotes($("c-notes"), notesOf(contact));
  }

  async function addNote() {
    const text = $("note-text").value;
    const error = $("note-error");
    error.textContent = "";
    if (!shown || !text.trim()) {
      return;
    }
    const id = shown.id;
    const result = await S.api("POST", path(id, "/notes"), { text: text });
    if (result.status !== 201) {
      error.textContent = S.errorText(result, "The note was not kept");
      return;
    }
    if (shown && shown.id === id) {
      $("note-text").value = "";
      shown.meta = Object.assign({}, shown.meta, { notes: notesOf(shown).concat([result.data.note]) });
      drawOwn(shown);
    }
  }

  function addTag() {
    const input = $("tag-input");
    const tag = input.value.trim().toLowerCase();
    if (!shown || !tag) {
      return;
    }
    if (!TAG.test(tag)) {
      // The server says the same (queues.timeline.TAG_PATTERN); no request for it.
      $("note-error").textContent = "“" + tag + "” is not a tag; use 1-32 letters, digits, - or _";
      return;
    }
    input.value = "";
    putTags(tagsOf(shown).concat([tag]));
  }

  async function putTags(tags) {
    const error = $("note-error");
    error.textContent = "";
    const id = shown.id;
    const result = await S.api("PUT", path(id, "/tags"), { tags: tags });
    if (result.status !== 200) {
      error.textContent = S.errorText(result, "The tags were not kept");
      return;
    }
    if (shown && shown.id === id) {
      shown.meta = Object.assign({}, shown.meta, { tags: result.data.tags });
      drawOwn(shown);
    }
  }

  /* ------------------------------------------------------------ the history */

  function entry(c) {
    const item = S.el("li", "tl-item");
    item.dataset.contact = c.id;
    item.dataset.channel = c.channel;
    const line = S.el("div", "tl-line");
    const channel = S.el("span", "badge channel", c.channel);
    channel.dataset.channel = c.channel;
    const when = S.el("time", "tl-when", S.clock(c.created_at));
    when.dateTime = c.created_at;
    line.append(channel, when, S.el("span", "tl-team", c.team ? label(c.team) : "no team"));
    if (c.disposition) {
      line.append(S.el("span", "badge tl-disposition", c.disposition));
    } else {
      line.append(S.el("span", "badge warn tl-state", c.state.replace("_", " ")));
    }
    if (c.joined_by) {
      const joined = S.el("span", "badge tl-joined", "unverified, same number");
      joined.title = "Came from the same address before the customer verified";
      line.append(joined);
    }
    if (c.agent) {
      line.append(S.el("span", "muted tl-agent", c.agent));
    }
    item.append(line);
    if (c.tags.length) {
      const tags = S.el("ul", "tags");
      c.tags.forEach(function (t) {
        tags.append(S.el("li", "tag", t));
      });
      item.append(tags);
    }
    if (c.notes.length) {
      const notes = S.el("ol", "tl-notes");
      drawNotes(notes, c.notes);
      item.append(notes);
    }
    return item;
  }

  function drawHistory(found) {
    const list = $("c-history");
    list.replaceChildren();
    found.contacts.forEach(function (c) {
      list.append(entry(c));
    });
    const n = found.contacts.length;
    $("c-history-count").textContent = found.account ? "(" + n + (found.more ? "+" : "") + ")" : "";
    const empty = $("c-history-empty");
    empty.hidden = n > 0;
    empty.textContent = found.account
      ? "No earlier contacts of " + found.account + "."
      : "Not verified: no history is shown until the customer proves who they are.";
  }

  async function readHistory(contact) {
    fetched = contact.id;
    $("c-history").replaceChildren();
    $("c-history-count").textContent = "";
    const empty = $("c-history-empty");
    empty.hidden = false;
    empty.textContent = "Reading the customer's history…";
    let result;
    try {
      result = await S.api("GET", path(contact.id, "/timeline"));
    } catch (e) {
      result = null;
    }
    if (fetched !== contact.id) {
      return; // another contact is shown now
    }
    if (!result || result.status !== 200) {
      fetched = null; // read again next time it is shown
      empty.textContent = S.errorText(result, "The history could not be read");
      return;
    }
    drawHistory(result.data);
  }

  /* ------------------------------------------------------------ entry point */

  /* The contact on screen (every copy of it): its notes and tags now, its history once. */
  function show(contact, teamLabel) {
    if (teamLabel) {
      label = teamLabel;
    }
    box();
    shown = contact;
    drawOwn(contact);
    if (fetched !== contact.id) {
      $("note-text").value = "";
      $("note-error").textContent = "";
      readHistory(contact);
    }
  }

  return { show: show };
})();
