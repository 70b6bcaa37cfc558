// Live updates over one graphql-transport-ws socket at /graphql: hugs, presence, friends' moods.

import { createClient, type Client } from "graphql-ws";
import { deviceId, sessionEnded, token } from "./api";
import { ENTRY, HUG, PROFILE, type Hug, type MoodEntry, type PresenceStatus } from "./model";
import { signal } from "./signal";

export type LiveState = "connecting" | "live" | "offline";

export const liveState = signal<LiveState>("connecting");
/** Each friend's presence by handle, as last told by the server. */
export const presence = signal<Record<string, PresenceStatus>>({});
/** Hugs that arrived while this page was open (newest first), for the arrival animation. */
export const arrivals = signal<Hug[]>([]);
/** Bumped whenever something arrives that lists on screen may want to re-read. */
export const changes = signal(0);
export const friendMoods = signal<MoodEntry[]>([]);

let client: Client | null = null;
const stops: (() => void)[] = [];

function subscribe<T>(query: string, onData: (data: T) => void): () => void {
  if (client === null) return () => undefined;
  const stop = client.subscribe<T>(
    { query },
    {
      next: (result) => {
        if (result.data) onData(result.data as T);
      },
      error: () => undefined, // the socket reconnects and subscribes again
      complete: () => undefined,
    },
  );
  stops.push(stop);
  return stop;
}

function bump(): void {
  changes.value = changes.value + 1;
}

export function connect(): void {
  if (client !== null || token() === null) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  liveState.value = "connecting";
  client = createClient({
    url: `${scheme}://${location.host}/graphql`,
    connectionParams: () => ({ authorization: `Bearer ${token() ?? ""}`, deviceId: deviceId() }),
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => token() !== null,
    retryWait: async (retries) => {
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** retries, 15_000)));
    },
    keepAlive: 20_000,
    on: {
      connected: () => {
        liveState.value = "live";
        bump();
      },
      closed: (event) => {
        // 4401: the session ended (logged out everywhere, expired); 4403: the token we offered
        // on reconnecting no longer works. graphql-ws does not retry either: log in again.
        const code = (event as { code?: number } | undefined)?.code;
        if (code === 4401 || code === 4403) {
          sessionEnded();
          return;
        }
        liveState.value = token() === null ? "offline" : "connecting";
      },
    },
  });
  subscribe<{ hugReceived: Hug }>(`subscription { hugReceived { ${HUG} } }`, ({ hugReceived }) => {
    const others = arrivals.value.filter((h) => h.id !== hugReceived.id);
    arrivals.value = hugReceived.status === "WITHDRAWN" ? others : [hugReceived, ...others];
    bump();
  });
  subscribe<{ hugStatusChanged: Hug }>(`subscription { hugStatusChanged { ${HUG} } }`, bump);
  watchPresence();
  subscribe<{ friendMoodRecorded: MoodEntry }>(
    `subscription { friendMoodRecorded { ${ENTRY} } }`,
    ({ friendMoodRecorded }) => {
      friendMoods.value = [friendMoodRecorded, ...friendMoods.value].slice(0, 20);
      bump();
    },
  );
}

let stopPresence: (() => void) | null = null;
let presenceOf: string | null = null;

/** The server sends presence of those who were friends when the subscription started. */
function watchPresence(): void {
  stopPresence?.();
  stopPresence = subscribe<{ friendPresence: { profile: { handle: string }; status: PresenceStatus } }>(
    `subscription { friendPresence { profile { ${PROFILE} } status } }`,
    ({ friendPresence }) => {
      presence.value = { ...presence.value, [friendPresence.profile.handle]: friendPresence.status };
    },
  );
}

/** Called with the current friends: a new friend's presence needs a new subscription. */
export function friendsAre(handles: string[]): void {
  const key = [...handles].sort().join(" ");
  if (key !== presenceOf && client !== null) watchPresence();
  presenceOf = key;
}

/** Tell friends whether this tab is in use (away when hidden) and which screen it shows.
 * Sent over the socket, so the server keeps it for this device while the socket is open. */
export function heartbeat(view: string): void {
  if (client === null) return;
  const status = document.visibilityState === "hidden" ? "AWAY" : "ONLINE";
  client.subscribe(
    {
      query: "mutation($status: PresenceStatus!, $view: String) { heartbeat(status: $status, view: $view) }",
      variables: { status, view: view.replace(/^\//, "") || "checkin" },
    },
    { next: () => undefined, error: () => undefined, complete: () => undefined },
  );
}

export function disconnect(): void {
  presenceOf = null;
  stopPresence = null;
  stops.splice(0).forEach((stop) => stop());
  // dispose() rejects when the socket never opened (say, the session had already ended).
  Promise.resolve(client?.dispose()).catch(() => undefined);
  client = null;
  liveState.value = "offline";
  presence.value = {};
  arrivals.value = [];
  friendMoods.value = [];
}
