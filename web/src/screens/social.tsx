// Sign in with another provider (OpenID Connect): the button, and the page the provider
// sends the person back to (/oidc/callback?state=…&code=…).

import { useEffect, useState } from "preact/hooks";
import { ApiError, describe, gql } from "../api";
import { ACCOUNT } from "../model";
import type { NewSession } from "./two-step";

const STATE_KEY = "hugmood.oidcState";
const START = "mutation { startSocialSignIn }";
const FINISH = `mutation($state: String!, $code: String!, $device: String) {
  finishSocialSignIn(state: $state, code: $code, device: $device) { token deviceProof account { ${ACCOUNT} } }
}`;
export const LINK_SOCIAL = `mutation($linkToken: String!, $password: String!) {
  linkSocialSignIn(linkToken: $linkToken, password: $password)
}`;

export function SocialButton({ onError }: { onError: (message: string) => void }) {
  const [name, setName] = useState<string | null>(null);
  useEffect(() => {
    gql<{ socialSignIn: { name: string } | null }>("{ socialSignIn { name } }")
      .then((data) => setName(data.socialSignIn?.name ?? null))
      .catch(() => undefined);
  }, []);
  if (name === null) return null;

  async function start() {
    try {
      const url = (await gql<{ startSocialSignIn: string }>(START)).startSocialSignIn;
      // Kept in this tab: an answer for a sign-in started elsewhere is not finished here.
      sessionStorage.setItem(STATE_KEY, new URL(url).searchParams.get("state") ?? "");
      location.assign(url);
    } catch (e) {
      onError(describe(e));
    }
  }
  return (
    <button type="button" class="social" onClick={start}>
      Sign in with {name}
    </button>
  );
}

export type CallbackOutcome =
  | { kind: "session"; session: NewSession }
  | { kind: "second-step"; mfaToken: string; methods: string[]; message: string }
  | { kind: "link"; linkToken: string; message: string }
  | { kind: "error"; message: string };

/** On /oidc/callback: finish the sign-in the provider answered (null on any other page). */
export async function finishCallback(device: string): Promise<CallbackOutcome | null> {
  if (location.pathname !== "/oidc/callback") return null;
  const params = new URLSearchParams(location.search);
  history.replaceState(null, "", "/");
  const state = params.get("state") ?? "";
  const code = params.get("code") ?? "";
  const kept = sessionStorage.getItem(STATE_KEY);
  sessionStorage.removeItem(STATE_KEY);
  if (params.get("error")) return { kind: "error", message: "The sign-in was cancelled at the provider." };
  if (!state || state !== kept) {
    return { kind: "error", message: "This sign-in was not started in this browser tab. Please start again." };
  }
  try {
    const data = await gql<{ finishSocialSignIn: NewSession }>(FINISH, { state, code, device });
    return { kind: "session", session: data.finishSocialSignIn };
  } catch (e) {
    if (e instanceof ApiError && e.code === "MFA_REQUIRED") {
      const methods = Array.isArray(e.extensions["methods"]) ? (e.extensions["methods"] as string[]) : [];
      return { kind: "second-step", mfaToken: String(e.extensions["mfaToken"] ?? ""), methods, message: e.message };
    }
    if (e instanceof ApiError && e.code === "NOT_LINKED") {
      return { kind: "link", linkToken: String(e.extensions["linkToken"] ?? ""), message: e.message };
    }
    return { kind: "error", message: describe(e) };
  }
}
