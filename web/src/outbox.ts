// Check-ins made offline: kept in IndexedDB under ids chosen here, sent once when back online.
//
// The id is chosen before the first attempt and kept with the entry, so a send that reached
// the server but whose answer was lost is retried with the same id, and the server (which
// stores a device-chosen id once) keeps a single entry. Only one sync runs at a time.

import { ApiError, gql, NetworkError, signedInHandle } from "./api";
import { signal } from "./signal";

export interface PendingCheckIn {
  id: string;
  /** Whose check-in it is: only their session sends it (a browser may be shared). */
  handle: string | null;
  input: Record<string, unknown>;
  savedAt: string;
  /** Set when the server refused the entry (not a network problem): shown, not retried. */
  problem?: string;
}

const DB_NAME = "hugmood";
const STORE = "outbox";

/** The signed-in person's entries waiting to be sent, for the banner that says so. */
export const waiting = signal<PendingCheckIn[]>([]);

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "id" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error("IndexedDB unavailable"));
  });
}

async function run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error ?? new Error("IndexedDB write failed"));
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB write aborted"));
    });
  } finally {
    db.close();
  }
}

export async function refresh(): Promise<void> {
  const all = await run("readonly", (store) => store.getAll() as IDBRequest<PendingCheckIn[]>);
  const mine = all.filter((entry) => entry.handle === signedInHandle());
  mine.sort((a, b) => a.savedAt.localeCompare(b.savedAt));
  waiting.value = mine;
}

/** Keep a check-in for later; its input already carries its id. */
export async function keep(input: Record<string, unknown> & { id: string }): Promise<void> {
  const entry: PendingCheckIn = {
    id: input.id,
    handle: signedInHandle(),
    input,
    savedAt: new Date().toISOString(),
  };
  await run("readwrite", (store) => store.put(entry));
  await refresh();
}

/** Forget a check-in the server refused (the person read why and let it go). */
export async function discard(id: string): Promise<void> {
  await run("readwrite", (store) => store.delete(id));
  await refresh();
}

const RECORD = "mutation($input: RecordMoodInput!) { recordMood(input: $input) { id } }";
/** The answer of an edge that holds a check-in while the region's storage is away (decision 0025). */
export const HELD_BY_THE_EDGE = "QUEUED";
let syncing: Promise<number> | null = null;
let retryTimer: number | undefined;
let retryDelay = 1000;

/** After a network failure, try again soon, waiting twice as long each time up to 30 s (the
 * browser may say "online" a moment before the network really answers, or not at all). */
function retrySoon(): void {
  if (retryTimer !== undefined) return;
  retryTimer = window.setTimeout(() => {
    retryTimer = undefined;
    void sync().catch(() => undefined);
  }, retryDelay);
  retryDelay = Math.min(retryDelay * 2, 30_000);
}

/** Send every waiting check-in (oldest first); resolves with how many were stored. */
export function sync(): Promise<number> {
  syncing ??= (async () => {
    try {
      await refresh();
      let sent = 0;
      for (const entry of waiting.value) {
        if (entry.problem !== undefined) continue;
        try {
          await gql(RECORD, { input: entry.input });
        } catch (error) {
          if (error instanceof NetworkError || (error instanceof ApiError && error.code === "READ_ONLY")) {
            retrySoon();
            break;
          }
          if (error instanceof ApiError && error.code === HELD_BY_THE_EDGE) {
            // Accepted by the edge while HugMood's storage was away: stored when it returns.
            await run("readwrite", (store) => store.delete(entry.id));
            sent += 1;
            continue;
          }
          if (error instanceof ApiError && error.code !== "UNAUTHENTICATED" && error.code !== "RATE_LIMITED") {
            await run("readwrite", (store) => store.put({ ...entry, problem: error.message }));
            continue;
          }
          break;
        }
        await run("readwrite", (store) => store.delete(entry.id));
        sent += 1;
        retryDelay = 1000;
      }
      await refresh();
      return sent;
    } finally {
      syncing = null;
    }
  })();
  return syncing;
}

/** Sync whenever the browser comes back online, and every 30 s while anything waits (the app
 * also syncs when someone signs in). */
export function startSyncing(): void {
  window.addEventListener("online", () => void sync().catch(() => undefined));
  window.setInterval(() => {
    if (waiting.value.some((e) => e.problem === undefined) && navigator.onLine) {
      void sync().catch(() => undefined);
    }
  }, 30_000);
}
