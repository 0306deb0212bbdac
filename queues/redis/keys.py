"""Key names of the Redis store and the names of its Lua scripts (``scripts.py`` loads them).

Every key starts with ``sb:`` or ``{sb:``. Two kinds of hash tag decide the Redis Cluster
slot: a contact *shard* (``{sb:c:NN}``, NN = CRC-32 of the contact id mod 16), which holds
the contact's flow record, history and the indexes intake must write in the same step; and
a *team* (``{sb:team:T}``), which holds that team's queue and the queue state of every
contact ever queued in it. On a Redis Cluster each script touches one tag, so each is
single-slot; on one Redis, enqueue also checks and marks the flow record in its step.
Contacts share 16 shard tags rather than one tag each because intake must update the
contact lists and the event stream in the same step as the contact. Needs Redis 7.0+.

Contact shard ``{sb:c:NN}`` (intake, append_message, update_contact, close in flow)::

    :c:<id>        hash: flow record (ch ad ca lg vf vm ac sj sd, m:<key> per meta key;
                   earlier versions: mt, all the meta as one JSON), st (in_flow, or
                   resolved/abandoned when closed in flow), cl, and q = the team the contact
                   was handed to (set once; while that hand-over may be unfinished, also
                   qa and pr, the queued_at and delay to finish it with)
    :h:<id>        list: history in recording order: messages (``messages.py``: lines, or
                   JSON) and references (stream ids: they start with a digit) of the
                   contact's events in :events other than messages (a message is its own
                   record)
    :k:<id>        hash: message id -> history index, of messages a retry of their
                   idempotency key stored (earlier versions: every keyed message); a
                   retry looks for the others in the history
    :all:<channel> zset: contact id -> created_at, the shard's contacts on that channel
                   (list_contacts, newest first; earlier versions: :all, every channel)
    :a:<address>   zset: contact id -> created_at, the shard's contacts at that address
    :acct:<login>  zset: contact id -> created_at, the shard's contacts of that account
                   (kept by intake and update_contact; ``timeline.py``)
    :acct-indexed  hash: how far the one-time indexing by account of the contacts an
                   earlier version kept has gone (list -> offset, "done")
    :events        stream: the shard's contact events (created, message_*, closed in flow,
                   add_event); fields c k t tm ag d; ids from the event time, t the
                   microseconds after the id's millisecond (earlier versions, and a
                   clock behind the last id: the time in full)
    :pending       zset: contact id -> time, hand-overs to a team not yet confirmed
                   (cluster mode only; the reaper finishes them)

Team ``{sb:team:T}`` (enqueue, claim, heartbeat, ack, release, remove, requeue, moves)::

    :c:<id>        hash: queue entry: st (waiting, assigned, resolved, abandoned; moving or
                   moved while or after it goes to another team), pr, qa, sq, ag, aa, lu, dp,
                   cl, mv (destination), mo (token of the move out), mt (token of the move
                   that created it), n and fields "1".."n": references of its queue events
                   (a stream id in this team's :events, or "<team> <stream id>" for events
                   recorded in a team it came from)
    :ready:<ch>    zset: "<sq in 12 digits>:<id>" -> score (queued_at - delay) of the
                   waiting contacts on channel <ch> (:ready: those without one); ties FIFO
                   by sq (entries keep sq as a plain number; earlier versions: 12 digits).
                   The team's queue is their union (READY_CHANNELS): a claim reads their
                   heads, a position counts ahead in each. Earlier versions also kept every
                   member in :ready (index_ready.lua moves what they left there, once
                   a process: ``queue.py``)
    :leased        zset: contact id -> lease_until
    :queued        zset: contact id -> queued_at of waiting contacts (oldest wait)
    :moving        zset: contact id -> time, entries moving out (the reaper finishes them)
    :seq           counter: the team's queue sequence (INCR), 12 digits in members
    :events        stream: the team's queue events (fields as above)
    :m:<hour>      hash: the team's buckets (``queues/buckets.py``) of the hour starting at
                   <hour> (POSIX seconds): "<minute>:<channel>" -> the bucket's counts in
                   ``COUNTS`` order, space-separated, trailing zeros left out; written by
                   the script of each transition, kept BUCKET_TTL_S
    :handles       list: "<time> <handle_s>" of the team's last RECENT_HANDLES resolves,
                   newest first (handle_s with the after-contact work that followed)
    :held:<agent>  set: contact ids the agent claimed in this team; a load count checks
                   each against its entry (held, or resolved within the wrap-up) and
                   drops the rest
    :fence         hash: agent -> the newest claim token a load count of theirs saw here
                   (a claim with an older one is refused: ``capacity.py``)
    :fcr:<account> string: "<contact id> <resolved at>" of the account's last resolve in
                   the team (the first-contact-resolution watch), with a PX ttl

Entries also keep ch (the contact's channel, for the buckets), an ("1" once claimed: later
claims are no answers) and, while moving, ma (when the move began); a shard keeps
``:m:<hour>`` too, with the contacts created (team ``NO_TEAM``) by channel.

Elsewhere::

    sb:teams              set: every team a contact was ever queued in (added before)
    {sb:idem:<key>}       string: "<contact id> <message id>" of an idempotency key, or
                          for a key "<group>:<last>" whose group has a colon, a hash
                          {sb:idem:<group>}: ":c" -> the contact, last -> the message id
                          (short) of a key of that contact, or the same as a string
                          (``idem.py``; IDEMPOTENCY_TTL_S)
    sb:agent:<name>:claims  counter: an agent's claim tokens under capacity (INCR)
    sb:texts              hash: code -> a prompt's template, kept once, "#<template id>"
                          -> its code, "#" the last code; histories keep a prompt as its
                          template's code and params (texts.py; earlier versions: template
                          id -> template)
    sb:session:<key>      string: "<expires_at> <tag> <data>" (sessions.py: texts just
                          kept as prompts kept as their template's code and params;
                          earlier versions: {"x": expires_at, "t": tag, "d": data}), PX ttl
    sb:hits:<key>         zset: "<random tag>" -> time of one hit (record_hit), with a PX ttl
    {sb:win:<key>}:<slot> string: the count of a windowed counter (count_window) in the slot
                          starting at <slot> (POSIX seconds), with a PX ttl; a key's slots
                          share its hash tag
    sb:doc:<kind>         hash: key -> {"t": tag, "d": data} (documents: accounts, agents,
                          presence, the directories' versions)
    sb:lock:<name>        string: {"o": owner, "x": expires_at}, with a PX ttl
    {sb:outbox}:due       zset: parcel id -> due_at, the first of each line only (taken
                          ones: the end of the lease)
    {sb:outbox}:p, :a, :at, :grp  hashes: parcel id -> payload JSON, attempts, posted_at,
                          group
    {sb:outbox}:g:<group> list: the group's pending parcel ids in post order
    {sb:outbox}:known     zset: parcel id -> forget_at, ids posted (pending or settled)
    sb:pubsub:<channel>   pub/sub channels (not keys)

Where a contact stands: its team entry when one is waiting, assigned or done (the only one;
during a move the destination's), else its flow record. A moved-away entry stays for a day
as a tombstone (st moved, mv, mt) so a late repair never recreates it.
"""

from __future__ import annotations

import zlib

from queues.buckets import minute_of
from queues.models import Channel

PREFIX = "sb:"
SHARDS = 16  # contact shards; changing it moves every contact, so it is fixed
TEAMS_KEY = PREFIX + "teams"
TEXTS_KEY = PREFIX + "texts"
SESSION_PREFIX = PREFIX + "session:"
HITS_PREFIX = PREFIX + "hits:"
DOC_PREFIX = PREFIX + "doc:"
LOCK_PREFIX = PREFIX + "lock:"
OUTBOX_TAG = "{" + PREFIX + "outbox}"
#: The outbox's keys, in the order its scripts take them (due, payloads, attempts, posted,
#: known); one hash tag, so each script is single-slot on a cluster.
OUTBOX_KEYS = [OUTBOX_TAG + s for s in (":due", ":p", ":a", ":at", ":known", ":grp")]
#: Each group's line (list of pending ids in post order) is this prefix + the group.
OUTBOX_LINE_PREFIX = OUTBOX_TAG + ":g:"
CHANNEL_PREFIX = PREFIX + "pubsub:"
#: The channels of a team's ready indexes (``:ready:<ch>``), '' for entries without one.
READY_CHANNELS = (*(str(c) for c in Channel), "")
TOMBSTONE_TTL_S = 86_400
#: How long an idempotency key is remembered: longer than any provider retries (SMTP gives
#: up after 5 days), and bounded, so that a busy day's keys do not stay for ever.
IDEMPOTENCY_TTL_S = 7 * 86_400
#: How long a bucket hash (one tag's hour) is kept after its first count.
BUCKET_TTL_S = 2 * 86_400

SCRIPTS = (
    # contact shard
    "intake",
    "turn",  # one Redis only (queues/turns.py)
    "claim_key",
    "append_message",
    "update_contact",
    "add_event",
    "close",
    "reserve",
    "reserved",
    "erase",
    "annotate",
    "index_accounts",
    # team
    "enqueue",
    "claim",
    "heartbeat",
    "ack",
    "release",
    "remove",
    "requeue",
    "position",
    "move_out",
    "move_in",
    "moved",
    "agent_load",
    "index_ready",
    "survey",
    "fcr",
    # one key of its own
    "record_hit",
    "count_window",
    "put_session_if",
    "put_doc_if",
    "text_code",
    "acquire_lock",
    "release_lock",
    # reads of one stream
    "events",
    # the outbox's tag
    "post_parcel",
    "take_parcels",
    "settle_parcel",
)


# -- contact shard -----------------------------------------------------------------------
def shard_of(contact_id: str) -> int:
    return zlib.crc32(contact_id.encode()) % SHARDS


def shard_tag(shard: int) -> str:
    return "{" + f"{PREFIX}c:{shard:02d}" + "}"


def _contact_tag(contact_id: str) -> str:
    return shard_tag(shard_of(contact_id))


def flow_key(contact_id: str) -> str:
    return f"{_contact_tag(contact_id)}:c:{contact_id}"


def history_key(contact_id: str) -> str:
    return f"{_contact_tag(contact_id)}:h:{contact_id}"


def keyed_key(contact_id: str) -> str:
    return f"{_contact_tag(contact_id)}:k:{contact_id}"


def shard_events_key(shard: int) -> str:
    return shard_tag(shard) + ":events"


def contact_events_key(contact_id: str) -> str:
    return shard_events_key(shard_of(contact_id))


def all_key(shard: int, channel: str | None = None) -> str:
    """The shard's contacts on ``channel`` (created_at -> id); without a channel, the
    index of every channel that earlier versions kept."""
    return shard_tag(shard) + (":all" if channel is None else ":all:" + channel)


def address_key(shard: int, address: str) -> str:
    return f"{shard_tag(shard)}:a:{address}"


def account_prefix(shard: int) -> str:
    """The shard's account indexes are this + the login (the scripts build the key)."""
    return shard_tag(shard) + ":acct:"


def account_key(shard: int, login: str) -> str:
    return account_prefix(shard) + login


def accounts_indexed_key(shard: int) -> str:
    return shard_tag(shard) + ":acct-indexed"


def shard_buckets_key(shard: int, at: float) -> str:
    """The hash of the shard's buckets for the hour holding ``at``."""
    return f"{shard_tag(shard)}:m:{hour_of(at)}"


def contact_buckets_key(contact_id: str, at: float) -> str:
    return shard_buckets_key(shard_of(contact_id), at)


def pending_key(shard: int) -> str:
    return shard_tag(shard) + ":pending"


def contact_pending_key(contact_id: str) -> str:
    return pending_key(shard_of(contact_id))


# -- team ------------------------------------------------------------------------------------
def team_tag(team: str) -> str:
    return "{" + PREFIX + "team:" + team + "}"


def entry_prefix(team: str) -> str:
    return team_tag(team) + ":c:"


def entry_key(team: str, contact_id: str) -> str:
    return entry_prefix(team) + contact_id


def ready_key(team: str) -> str:
    return team_tag(team) + ":ready"


def leased_key(team: str) -> str:
    return team_tag(team) + ":leased"


def queued_key(team: str) -> str:
    return team_tag(team) + ":queued"


def moving_key(team: str) -> str:
    return team_tag(team) + ":moving"


def seq_key(team: str) -> str:
    return team_tag(team) + ":seq"


def team_events_key(team: str) -> str:
    return team_tag(team) + ":events"


def team_buckets_key(team: str, at: float) -> str:
    """The hash of the team's buckets for the hour holding ``at``."""
    return f"{team_tag(team)}:m:{hour_of(at)}"


def handles_key(team: str) -> str:
    return team_tag(team) + ":handles"


def ready_channel_key(team: str, channel: str) -> str:
    """The team's waiting contacts on ``channel`` (the scripts build it: :ready .. ':' .. ch)."""
    return ready_key(team) + ":" + channel


def ready_keys(team: str) -> list[str]:
    """The team's ready indexes, one per channel: its queue is their union."""
    return [ready_channel_key(team, channel) for channel in READY_CHANNELS]


def held_key(team: str, agent: str) -> str:
    return team_tag(team) + ":held:" + agent


def fences_key(team: str) -> str:
    return team_tag(team) + ":fence"


def fcr_watch_key(team: str, account: str) -> str:
    return team_tag(team) + ":fcr:" + account


def agent_claims_key(agent: str) -> str:
    return PREFIX + "agent:" + agent + ":claims"


def hour_of(at: float) -> int:
    """The start of the hour holding ``at`` as the scripts see it (to the microsecond)."""
    minute = minute_of(round(at, 6))
    return minute - minute % 3600


# -- elsewhere -------------------------------------------------------------------------------
def idempotency_key(key: str) -> tuple[str, str | None]:
    """Where an idempotency key is kept: a string of its own, or for a key of a group
    (``voice:<CallSid>:<step>``, ``chat:<session>:<frame>``: two colons or more) a field
    of the group's hash, so that a call's steps cost one key, not one each."""
    group, _, last = key.rpartition(":")
    if ":" in group:
        return "{" + PREFIX + "idem:" + group + "}", last
    return "{" + PREFIX + "idem:" + key + "}", None


def session_key(key: str) -> str:
    return SESSION_PREFIX + key


def hits_key(key: str) -> str:
    return HITS_PREFIX + key


def window_key(key: str, slot: int) -> str:
    """The count of windowed counter ``key`` in the slot starting at ``slot``."""
    return "{" + PREFIX + "win:" + key + "}:" + str(slot)


def doc_key(kind: str) -> str:
    return DOC_PREFIX + kind


def lock_key(name: str) -> str:
    return LOCK_PREFIX + name
