// Friends: find someone by handle, answer requests, see who is around, choose close friends
// (who see check-ins shared with close friends only), remove or block.

import { useEffect, useState } from "preact/hooks";
import { describe, gql } from "../api";
import { changes, friendsAre, presence } from "../live";
import { ENTRY, PROFILE, type Connection, type MoodEntry, type PresenceStatus, type Profile, type Relationship } from "../model";
import { go } from "../router";
import { useSignal } from "../signal";
import { Empty, ErrorText, PersonLink, PresenceDot } from "./common";
import { MoodCard } from "./entries";
import { useVocabulary } from "./checkin";
import { hugTarget } from "./hugs";
import { PeopleYouMayKnow } from "./suggestions";

interface UserPage {
  profile: Profile;
  relationship: Relationship;
  friendCount: number;
  recentMoods: MoodEntry[];
}

const USER = `query($handle: String!) { user(handle: $handle, recent: 10) {
  profile { ${PROFILE} } relationship friendCount recentMoods { ${ENTRY} } } }`;
const CONNECTIONS = `{
  friends: connections(status: FRIENDS) { profile { ${PROFILE} } status since }
  incoming: connections(status: INCOMING) { profile { ${PROFILE} } status since }
  requested: connections(status: REQUESTED) { profile { ${PROFILE} } status since }
  blocked: connections(status: BLOCKED) { profile { ${PROFILE} } status since }
  friendsPresence { profile { handle } status }
  closeFriends { handle }
}`;

type Action = "requestFriendship" | "acceptFriendship" | "declineFriendship" | "removeFriend" | "blockUser" | "unblockUser";

const DONE: Record<Action, string> = {
  requestFriendship: "Friend request sent to",
  acceptFriendship: "You're now friends with",
  declineFriendship: "You declined the request from",
  removeFriend: "Removed",
  blockUser: "Blocked",
  unblockUser: "Unblocked",
};

async function act(action: Action, handle: string): Promise<void> {
  await gql(`mutation($handle: String!) { ${action}(handle: $handle) { status } }`, { handle });
}

export function Actions({ handle, relationship, onDone }: { handle: string; relationship: Relationship; onDone: (message: string) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<Action | null>(null);
  const run = async (action: Action) => {
    setError(null);
    try {
      await act(action, handle);
      setConfirm(null);
      onDone(`${DONE[action]} @${handle}.`);
    } catch (e) {
      setError(describe(e));
    }
  };
  const button = (action: Action, label: string, careful = false) =>
    careful && confirm !== action ? (
      <button type="button" onClick={() => setConfirm(action)} aria-label={`${label} @${handle}`}>
        {label}
      </button>
    ) : (
      <button type="button" class={careful ? "danger" : action === "requestFriendship" || action === "acceptFriendship" ? "primary" : ""} onClick={() => run(action)} aria-label={`${careful ? "Yes, " + label.toLowerCase() : label} @${handle}`}>
        {careful ? `Yes, ${label.toLowerCase()}` : label}
      </button>
    );
  return (
    <div class="row wrap">
      {relationship === "NONE" && button("requestFriendship", "Add friend")}
      {relationship === "INCOMING" && (
        <>
          {button("acceptFriendship", "Accept")}
          {button("declineFriendship", "Decline")}
        </>
      )}
      {relationship === "REQUESTED" && button("removeFriend", "Withdraw request")}
      {relationship === "FRIENDS" && (
        <>
          <button
            type="button"
            onClick={() => {
              hugTarget.value = handle;
              go("/hugs");
            }}
            aria-label={`Send a hug to @${handle}`}
          >
            Send a hug
          </button>
          {button("removeFriend", "Remove", true)}
        </>
      )}
      {relationship === "BLOCKED" ? button("unblockUser", "Unblock") : relationship !== "SELF" && button("blockUser", "Block", true)}
      {confirm && (
        <button type="button" onClick={() => setConfirm(null)}>
          Cancel
        </button>
      )}
      <ErrorText error={error} />
    </div>
  );
}

/** On or off the close-friends list; nobody is told either way. */
function CloseFriend({ handle, close, onDone }: { handle: string; close: boolean; onDone: (m: string) => void }) {
  const [error, setError] = useState<string | null>(null);
  // The box shows the click at once: the list reloads only after the server has answered,
  // and any render before that must not undo what the person just ticked.
  const [ticked, setTicked] = useState(close);
  useEffect(() => setTicked(close), [close]);
  async function toggle(on: boolean) {
    setError(null);
    setTicked(on);
    try {
      await gql(`mutation($handle: String!) { ${on ? "addCloseFriend" : "removeCloseFriend"}(handle: $handle) { handle } }`, { handle });
      onDone(on ? `@${handle} is now a close friend.` : `@${handle} is no longer a close friend.`);
    } catch (e) {
      setTicked(!on);
      setError(describe(e));
    }
  }
  return (
    <>
      <label class="inline-check">
        <input type="checkbox" name="closeFriend" checked={ticked} onChange={(e) => void toggle(e.currentTarget.checked)} />
        Close friend <span class="muted small">(sees check-ins you share with close friends)</span>
      </label>
      <ErrorText error={error} />
    </>
  );
}

function Person({
  profile,
  relationship,
  status,
  close,
  onDone,
}: {
  profile: Profile;
  relationship: Relationship;
  status?: PresenceStatus;
  close?: boolean;
  onDone: (m: string) => void;
}) {
  const [moods, setMoods] = useState<MoodEntry[] | null>(null);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const tick = useSignal(changes);
  const words = useVocabulary();
  useEffect(() => {
    if (!open) return;
    gql<{ user: UserPage }>(USER, { handle: profile.handle })
      .then((data) => setMoods(data.user.recentMoods))
      .catch((e) => setError(describe(e)));
  }, [open, tick, profile.handle]);
  return (
    <li class="person" data-handle={profile.handle}>
      <div class="row spread">
        <div>
          <strong>
            <PersonLink handle={profile.handle}>{profile.displayName}</PersonLink>
          </strong>{" "}
          <span class="muted">@{profile.handle}</span>
          {status && <PresenceDot status={status} />}
        </div>
        {relationship === "FRIENDS" && (
          <button type="button" aria-expanded={open} onClick={() => setOpen(!open)} aria-label={`${open ? "Hide" : "Show"} moods of @${profile.handle}`}>
            {open ? "Hide moods" : "Moods"}
          </button>
        )}
      </div>
      {open && (
        <div class="their-moods">
          <ErrorText error={error} />
          {moods === null ? (
            <p class="muted">Loading…</p>
          ) : moods.length === 0 ? (
            <Empty>@{profile.handle} hasn't shared any moods with you yet.</Empty>
          ) : (
            <ul class="entries">
              {moods.map((m) => (
                <MoodCard key={m.id} entry={m} words={words} />
              ))}
            </ul>
          )}
        </div>
      )}
      {close !== undefined && <CloseFriend handle={profile.handle} close={close} onDone={onDone} />}
      <Actions handle={profile.handle} relationship={relationship} onDone={onDone} />
    </li>
  );
}

export function FriendsScreen() {
  const live = useSignal(presence);
  const tick = useSignal(changes);
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<UserPage | null>(null);
  const [lists, setLists] = useState<Record<"friends" | "incoming" | "requested" | "blocked", Connection[]> | null>(null);
  const [close, setClose] = useState<Set<string>>(new Set());
  const [initialPresence, setInitialPresence] = useState<Record<string, PresenceStatus>>({});
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    gql<{
      friends: Connection[];
      incoming: Connection[];
      requested: Connection[];
      blocked: Connection[];
      friendsPresence: { profile: { handle: string }; status: PresenceStatus }[];
      closeFriends: { handle: string }[];
    }>(CONNECTIONS)
      .then((data) => {
        setLists(data);
        setClose(new Set(data.closeFriends.map((p) => p.handle)));
        friendsAre(data.friends.map((c) => c.profile.handle));
        setInitialPresence(Object.fromEntries(data.friendsPresence.map((p) => [p.profile.handle, p.status])));
      })
      .catch((e) => setError(describe(e)));
  }, [version, tick]);

  // Requests have no live feed: look again every 20 s and whenever the tab comes back.
  useEffect(() => {
    const again = () => document.visibilityState === "visible" && setVersion((v) => v + 1);
    const timer = window.setInterval(again, 20_000);
    document.addEventListener("visibilitychange", again);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener("visibilitychange", again);
    };
  }, []);

  async function find(event: Event) {
    event.preventDefault();
    setError(null);
    setFound(null);
    const handle = query.trim().replace(/^@/, "").toLowerCase();
    if (!handle) return;
    try {
      setFound((await gql<{ user: UserPage }>(USER, { handle })).user);
    } catch (e) {
      setError(describe(e));
    }
  }

  const done = (text: string) => {
    setMessage(text);
    setFound(null);
    setVersion((v) => v + 1);
  };
  const statusOf = (handle: string): PresenceStatus => live[handle] ?? initialPresence[handle] ?? "OFFLINE";

  return (
    <>
      <h1>Friends</h1>
      <form class="row find" onSubmit={find} role="search" aria-label="Find someone">
        <label class="grow">
          Find by handle
          <input name="find" placeholder="@handle" autoCapitalize="none" spellcheck={false} value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
        <button type="submit">Find</button>
      </form>
      <ErrorText error={error} />
      {message && <p class="success" role="status">{message}</p>}
      {found && (
        <ul class="people">
          <Person profile={found.profile} relationship={found.relationship} onDone={done} />
        </ul>
      )}
      {lists === null ? (
        <p class="muted">Loading…</p>
      ) : (
        <>
          {lists.incoming.length > 0 && (
            <section aria-labelledby="incoming-title">
              <h2 id="incoming-title">Asking to be friends</h2>
              <ul class="people">
                {lists.incoming.map((c) => <Person key={c.profile.handle} profile={c.profile} relationship="INCOMING" onDone={done} />)}
              </ul>
            </section>
          )}
          <section aria-labelledby="friends-title">
            <h2 id="friends-title">Your friends</h2>
            {lists.friends.length === 0 ? (
              <Empty>No friends here yet. Find someone by their handle above and send a request.</Empty>
            ) : (
              <ul class="people" data-testid="friends-list">
                {lists.friends.map((c) => (
                  <Person
                    key={c.profile.handle}
                    profile={c.profile}
                    relationship="FRIENDS"
                    status={statusOf(c.profile.handle)}
                    close={close.has(c.profile.handle)}
                    onDone={done}
                  />
                ))}
              </ul>
            )}
          </section>
          <PeopleYouMayKnow version={version} onDone={done} />
          {lists.requested.length > 0 && (
            <section aria-labelledby="requested-title">
              <h2 id="requested-title">Requests you sent</h2>
              <ul class="people">
                {lists.requested.map((c) => <Person key={c.profile.handle} profile={c.profile} relationship="REQUESTED" onDone={done} />)}
              </ul>
            </section>
          )}
          {lists.blocked.length > 0 && (
            <section aria-labelledby="blocked-title">
              <h2 id="blocked-title">Blocked</h2>
              <ul class="people">
                {lists.blocked.map((c) => <Person key={c.profile.handle} profile={c.profile} relationship="BLOCKED" onDone={done} />)}
              </ul>
            </section>
          )}
        </>
      )}
    </>
  );
}
