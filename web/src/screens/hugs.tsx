// Hugs: send one to a friend, see them arrive live, the inbox, and take back one you sent.

import { useEffect, useState } from "preact/hooks";
import { describe, gql } from "../api";
import { arrivals, changes } from "../live";
import { HUG, HUG_LABEL, HUG_TYPES, PROFILE, when, type Connection, type Hug, type HugType } from "../model";
import { signal, useSignal } from "../signal";
import { Empty, ErrorText } from "./common";

/** The friend to preselect when the hugs screen opens (set from the friends screen). */
export const hugTarget = signal<string | null>(null);

const STATUS_WORDS: Record<Hug["status"], string> = {
  SENT: "waiting in their inbox",
  DELIVERED: "delivered",
  SEEN: "seen",
  WITHDRAWN: "taken back",
};

async function markSeen(id: string): Promise<void> {
  await gql("mutation($id: ID!) { markHugSeen(id: $id) { id status } }", { id });
  dismissHugs([id]); // seen in the inbox: the card goes too
}

const DISMISSED_KEY = "hugmood.hugsLater";

/** Hugs put off with "Later" (or marked seen): a reconnect replays unseen hugs, and those
 * must not come back as a card again; they wait in the inbox. */
function dismissedHugs(): string[] {
  try {
    const ids: unknown = JSON.parse(localStorage.getItem(DISMISSED_KEY) ?? "[]");
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
  } catch {
    return [];
  }
}

function dismissHugs(ids: string[]): void {
  const kept = [...ids, ...dismissedHugs().filter((id) => !ids.includes(id))].slice(0, 200);
  localStorage.setItem(DISMISSED_KEY, JSON.stringify(kept));
  arrivals.value = arrivals.value.filter((h) => !ids.includes(h.id));
}

/** The latest hug that arrived and is not seen yet, floating in gently; others wait in Hugs. */
export function HugArrival() {
  const list = useSignal(arrivals);
  const [error, setError] = useState<string | null>(null);
  const dismissed = dismissedHugs();
  const waiting = list.filter((h) => h.status !== "SEEN" && !dismissed.includes(h.id));
  const hug = waiting[0];
  if (!hug) return null;
  const more = waiting.length - 1;
  return (
    <aside class="arrival" role="status" aria-live="polite" data-testid="hug-arrival">
      <span class="arrival-heart" aria-hidden="true">
        {HUG_LABEL[hug.hugType].split(" ")[0]}
      </span>
      <div>
        <p>
          <strong>{hug.sender.displayName}</strong> sent you a {HUG_LABEL[hug.hugType].split(" ").slice(1).join(" ").toLowerCase()} hug
        </p>
        {hug.message && <p class="note">“{hug.message}”</p>}
        <div class="row">
          <button
            type="button"
            class="primary"
            onClick={async () => {
              try {
                await markSeen(hug.id);
                changes.value += 1;
              } catch (e) {
                setError(describe(e));
              }
            }}
          >
            Mark seen
          </button>
          <button type="button" onClick={() => dismissHugs(waiting.map((h) => h.id))}>
            Later
          </button>
        </div>
        {more > 0 && (
          <p class="arrival-more muted small">
            {more === 1 ? "1 more hug is" : `${more} more hugs are`} waiting in Hugs.
          </p>
        )}
        <ErrorText error={error} />
      </div>
    </aside>
  );
}

function SendHug({ friends, onSent }: { friends: Connection[]; onSent: () => void }) {
  const target = useSignal(hugTarget);
  const [to, setTo] = useState(target ?? "");
  const [hugType, setHugType] = useState<HugType>("WARM");
  const [message, setMessage] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  useEffect(() => {
    if (!to && friends[0]) setTo(friends[0].profile.handle);
  }, [friends, to]);

  async function send(event: Event) {
    event.preventDefault();
    setError(null);
    setDone(null);
    try {
      await gql(`mutation($input: SendHugInput!) { sendHug(input: $input) { id } }`, {
        input: { id: crypto.randomUUID(), to, hugType, message: message.trim() || null },
      });
      setDone(`Hug sent to @${to}.`);
      setMessage("");
      hugTarget.value = null;
      onSent();
    } catch (e) {
      setError(describe(e));
    }
  }

  if (friends.length === 0) {
    return <Empty>Hugs go to friends. Add a friend on the Friends screen, then send them a hug from here.</Empty>;
  }
  return (
    <form class="card" onSubmit={send} aria-label="Send a hug">
      <label>
        To
        <select name="to" value={to} onChange={(e) => setTo(e.currentTarget.value)}>
          {friends.map((f) => (
            <option key={f.profile.handle} value={f.profile.handle}>
              {f.profile.displayName} (@{f.profile.handle})
            </option>
          ))}
        </select>
      </label>
      <fieldset class="hug-types">
        <legend>Kind of hug</legend>
        {HUG_TYPES.map((t) => (
          <label key={t} class={`chip${t === hugType ? " chosen" : ""}`}>
            <input type="radio" name="hugType" value={t} checked={t === hugType} onChange={() => setHugType(t)} />
            {HUG_LABEL[t]}
          </label>
        ))}
      </fieldset>
      <label>
        <span>
          Message <span class="muted">(optional, up to 280 characters)</span>
        </span>
        <input name="message" maxLength={280} value={message} onInput={(e) => setMessage(e.currentTarget.value)} />
      </label>
      <ErrorText error={error} />
      {done && <p class="success" role="status">{done}</p>}
      <button class="primary" type="submit">
        Send hug
      </button>
    </form>
  );
}

export function HugsScreen() {
  const tick = useSignal(changes);
  const [friends, setFriends] = useState<Connection[]>([]);
  const [inbox, setInbox] = useState<Hug[] | null>(null);
  const [sent, setSent] = useState<Hug[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    gql<{ connections: Connection[]; inbox: Hug[]; sentHugs: Hug[] }>(
      `{ connections(status: FRIENDS) { profile { ${PROFILE} } status since }
         inbox(limit: 30) { ${HUG} } sentHugs(limit: 30) { ${HUG} } }`,
    )
      .then((data) => {
        setFriends(data.connections);
        setInbox(data.inbox);
        setSent(data.sentHugs);
      })
      .catch((e) => setError(describe(e)));
  }, [tick, version]);

  const refresh = () => setVersion((v) => v + 1);
  const run = async (work: () => Promise<void>) => {
    setError(null);
    try {
      await work();
      refresh();
    } catch (e) {
      setError(describe(e));
    }
  };

  return (
    <>
      <h1>Hugs</h1>
      <ErrorText error={error} />
      <section aria-labelledby="send-title">
        <h2 id="send-title">Send a hug</h2>
        <SendHug friends={friends} onSent={refresh} />
      </section>
      <section aria-labelledby="inbox-title">
        <h2 id="inbox-title">Inbox</h2>
        {inbox === null ? (
          <p class="muted">Loading…</p>
        ) : inbox.length === 0 ? (
          <Empty>No hugs yet. They'll float in here, live, when a friend sends one.</Empty>
        ) : (
          <ul class="hugs" data-testid="inbox">
            {inbox.map((h) => (
              <li key={h.id} class={`hug hug-${h.status.toLowerCase()}`}>
                <span class="hug-icon" aria-hidden="true">{HUG_LABEL[h.hugType].split(" ")[0]}</span>
                <div>
                  <p>
                    <strong>{h.sender.displayName}</strong> · {HUG_LABEL[h.hugType].split(" ").slice(1).join(" ")}
                  </p>
                  {h.message && <p class="note">“{h.message}”</p>}
                  <p class="muted small">{when(h.sentAt)}</p>
                </div>
                {h.status !== "SEEN" && (
                  <button type="button" onClick={() => run(() => markSeen(h.id))} aria-label={`Mark the hug from ${h.sender.displayName} as seen`}>
                    Mark seen
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="sent-title">
        <h2 id="sent-title">Sent</h2>
        {sent === null ? (
          <p class="muted">Loading…</p>
        ) : sent.length === 0 ? (
          <Empty>You haven't sent a hug yet.</Empty>
        ) : (
          <ul class="hugs" data-testid="sent-hugs">
            {sent.map((h) => (
              <li key={h.id} class={`hug hug-${h.status.toLowerCase()}`} data-status={h.status}>
                <span class="hug-icon" aria-hidden="true">{HUG_LABEL[h.hugType].split(" ")[0]}</span>
                <div>
                  <p>
                    To <strong>{h.recipient.displayName}</strong> · {STATUS_WORDS[h.status]}
                  </p>
                  {h.message && <p class="note">“{h.message}”</p>}
                  <p class="muted small">{when(h.sentAt)}</p>
                </div>
                {(h.status === "SENT" || h.status === "DELIVERED") && (
                  <button
                    type="button"
                    onClick={() => run(async () => void (await gql("mutation($id: ID!) { withdrawHug(id: $id) { id } }", { id: h.id })))}
                    aria-label={`Take back the hug to ${h.recipient.displayName}`}
                  >
                    Take back
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
