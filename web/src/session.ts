// The signed-in account, loaded once after log-in and refreshed when settings change.

import { ApiError, clearSession, gql, NetworkError } from "./api";
import { disconnect } from "./live";
import { ACCOUNT, type Account } from "./model";
import { signal } from "./signal";

export const account = signal<Account | null>(null);
/** A message for the log-in screen (why you were signed out). */
export const signedOutReason = signal<string | null>(null);

export async function loadAccount(): Promise<void> {
  try {
    const data = await gql<{ me: Account }>(`{ me { ${ACCOUNT} } }`);
    account.value = data.me;
  } catch (error) {
    if (error instanceof NetworkError) return; // offline: keep working with what we have
    if (error instanceof ApiError && error.code === "UNAUTHENTICATED") return; // handled by api
    throw error;
  }
}

export function signOutLocally(reason: string | null = null): void {
  clearSession();
  disconnect();
  signedOutReason.value = reason;
  account.value = null;
}
