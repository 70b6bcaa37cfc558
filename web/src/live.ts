// Live updates over one graphql-transport-ws socket at /graphql: hugs, presence, friends' moods.

import { createClient, type Client } from "graphql-ws";
import { deviceId, token } from "./api";
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

function subscribe<T>(query: string, onData: (data: T) => void): void {
  if (client === null) return;
  stops.push(
    client.subscribe<T>(
      { query },
      {
        next: (result) => {
          if (result.data) onData(result.data as T);
        },
        error: () => undefined, // the socket reconnects and subscribes again
        complete: () => undefined,
      },
    ),
  );
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
      closed: () => {
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
  subscribe<{ friendPresence: { profile: { handle: string }; status: PresenceStatus } }>(
    `subscription { friendPresence { profile { ${PROFILE} } status } }`,
    ({ friendPresence }) => {
      presence.value = { ...presence.value, [friendPresence.profile.handle]: friendPresence.status };
    },
  );
  subscribe<{ friendMoodRecorded: MoodEntry }>(
    `subscription { friendMoodRecorded { ${ENTRY} } }`,
    ({ friendMoodRecorded }) => {
      friendMoods.value = [friendMoodRecorded, ...friendMoods.value].slice(0, 20);
      bump();
    },
  );
}

export function disconnect(): void {
  stops.splice(0).forEach((stop) => stop());
  void client?.dispose();
  client = null;
  liveState.value = "offline";
  presence.value = {};
  arrivals.value = [];
  friendMoods.value = [];
}
