// GraphQL over HTTP: the session token, this browser's device id, and errors in plain words.

const TOKEN_KEY = "hugmood.token";
const HANDLE_KEY = "hugmood.handle";
const DEVICE_KEY = "hugmood.device";
const PROOFS_KEY = "hugmood.deviceProofs";

/** An answer from HugMood that says no: its `code` is the API's `extensions.code`. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly field?: string,
    /** The error's other `extensions` (e.g. `mfaToken` and `methods` with MFA_REQUIRED). */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** HugMood could not be reached at all (offline, server down): worth retrying later. */
export class NetworkError extends Error {
  constructor() {
    super("You seem to be offline: HugMood could not be reached. Please try again in a moment.");
    this.name = "NetworkError";
  }
}

export function token(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function signedInHandle(): string | null {
  return localStorage.getItem(HANDLE_KEY);
}

export function saveSession(newToken: string, handle: string): void {
  localStorage.setItem(TOKEN_KEY, newToken);
  localStorage.setItem(HANDLE_KEY, handle);
}

const CACHE_PREFIX = "hugmood.cache.";

export function clearSession(): void {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(HANDLE_KEY);
  // What was kept for reading offline is this person's: the next one on this browser must not see it.
  Object.keys(localStorage)
    .filter((key) => key.startsWith(CACHE_PREFIX))
    .forEach((key) => localStorage.removeItem(key));
}

/** `gql`, keeping the answer on this device so the screen can be read offline: without a
 * network it resolves with the kept answer and the time it was fetched (`keptAt`). */
export async function gqlKept<T>(key: string, query: string, variables: Record<string, unknown> = {}): Promise<{ data: T; keptAt: string | null }> {
  const storageKey = `${CACHE_PREFIX}${signedInHandle() ?? ""}.${key}`;
  try {
    const data = await gql<T>(query, variables);
    localStorage.setItem(storageKey, JSON.stringify({ data, at: new Date().toISOString() }));
    return { data, keptAt: null };
  } catch (error) {
    const kept = localStorage.getItem(storageKey);
    if (!(error instanceof NetworkError) || kept === null) throw error;
    const { data, at } = JSON.parse(kept) as { data: T; at: string };
    return { data, keptAt: at };
  }
}

/** What this browser was handed at its last log-in per handle: with it, strangers' failed
 * guesses never lock this browser out. Kept after logging out, like a remembered device. */
export function deviceProof(handle: string): string | null {
  const proofs = JSON.parse(localStorage.getItem(PROOFS_KEY) ?? "{}") as Record<string, string>;
  return proofs[handle] ?? null;
}

export function keepDeviceProof(handle: string, proof: string): void {
  const proofs = JSON.parse(localStorage.getItem(PROOFS_KEY) ?? "{}") as Record<string, string>;
  localStorage.setItem(PROOFS_KEY, JSON.stringify({ ...proofs, [handle]: proof }));
}

/** One id per browser, so presence counts this tab's browser as one device. */
export function deviceId(): string {
  let id = localStorage.getItem(DEVICE_KEY);
  if (id === null) {
    id = `web-${crypto.randomUUID()}`;
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

type Listener = () => void;
const sessionEndedListeners = new Set<Listener>();

/** Called when the server says the token no longer works (expired, logged out elsewhere). */
export function onSessionEnded(listener: Listener): () => void {
  sessionEndedListeners.add(listener);
  return () => sessionEndedListeners.delete(listener);
}

/** The server ended this session (an HTTP answer or the live socket said so): forget the
 * token and send the person to log in, with the reason. */
export function sessionEnded(): void {
  if (token() === null) return;
  clearSession();
  sessionEndedListeners.forEach((listener) => listener());
}

interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string; field?: string; retryAfterSeconds?: number; [other: string]: unknown };
}

const FALLBACK: Record<string, string> = {
  UNAUTHENTICATED: "Your session has ended. Please log in again.",
  FORBIDDEN: "That isn't something you can do.",
  NOT_FOUND: "We couldn't find that. It may have been removed.",
  INTERNAL: "Something went wrong on our side. Please try again.",
  UNAVAILABLE: "HugMood is having trouble right now. Please try again shortly.",
};

/** The sentence to show a person for an API error. */
export function plainWords(error: GraphQLErrorBody): string {
  const code = error.extensions?.code ?? "INTERNAL";
  if (code === "RATE_LIMITED") {
    const wait = Math.ceil(error.extensions?.retryAfterSeconds ?? 30);
    return `That's a lot of tries in a short time. Please wait ${wait} seconds and try again.`;
  }
  if (code === "INTERNAL" || code === "UNAVAILABLE") return FALLBACK[code] ?? error.message;
  if (code === "VALIDATION" && /Variable|Expected type|Cannot query/.test(error.message)) {
    return "Something in that form isn't quite right. Please check it and try again.";
  }
  const message = error.message || FALLBACK[code] || "That didn't work.";
  return message.charAt(0).toUpperCase() + message.slice(1) + (/[.!?]$/.test(message) ? "" : ".");
}

/** Run one GraphQL operation; resolves with `data` or rejects with ApiError / NetworkError. */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "X-HugMood-Device": deviceId(),
  };
  const current = token();
  if (current !== null) headers["Authorization"] = `Bearer ${current}`;
  let response: Response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new NetworkError();
  }
  let body: { data?: T; errors?: GraphQLErrorBody[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    if (response.status >= 500 || response.status === 0) throw new NetworkError();
    throw new ApiError(FALLBACK["INTERNAL"] ?? "", "INTERNAL");
  }
  const first = body.errors?.[0];
  if (first !== undefined) {
    const code = first.extensions?.code ?? "INTERNAL";
    if (code === "UNAUTHENTICATED" && current !== null && !query.includes("logIn(")) sessionEnded();
    throw new ApiError(plainWords(first), code, first.extensions?.field, first.extensions ?? {});
  }
  if (body.data === undefined) throw new ApiError(FALLBACK["INTERNAL"] ?? "", "INTERNAL");
  return body.data;
}

/** The words to show for any failure caught in a screen. */
export function describe(error: unknown): string {
  if (error instanceof ApiError || error instanceof NetworkError) return error.message;
  return "Something went wrong. Please try again.";
}
