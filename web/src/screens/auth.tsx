// Sign up and log in, with errors said plainly next to the form.

import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, describe, deviceProof, gql, keepDeviceProof, saveSession } from "../api";
import { ACCOUNT, type Account, type Privacy } from "../model";
import { account, signedOutReason } from "../session";
import { useSignal } from "../signal";
import { PrivacyChoice } from "./checkin";
import { ErrorText } from "./common";
import { ForgotPassword } from "./reset";
import { finishCallback, LINK_SOCIAL, SocialButton } from "./social";
import { type NewSession, SecondStep } from "./two-step";

const REGIONS: [string, string][] = [
  ["eu-west", "Europe (west)"],
  ["us-east", "US (east)"],
  ["us-west", "US (west)"],
  ["ap-southeast", "Asia Pacific (south-east)"],
  ["sa-east", "South America (east)"],
];

// The country the browser's language names (en-GB → GB), if sign-up here offers it.
function browserCountry(offered: string[]): string | null {
  try {
    const found = new Intl.Locale(navigator.language).maximize().region ?? null;
    return found && offered.includes(found) ? found : null;
  } catch {
    return null;
  }
}

function countryName(code: string): string {
  try {
    return new Intl.DisplayNames([navigator.language, "en"], { type: "region" }).of(code) ?? code;
  } catch {
    return code;
  }
}

const REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { handle } }";
const LOG_IN = `mutation($handle: String!, $password: String!, $device: String, $proof: String) {
  logIn(handle: $handle, password: $password, device: $device, deviceProof: $proof) {
    token deviceProof account { ${ACCOUNT} }
  }
}`;

export function AuthScreen({ onSignedIn }: { onSignedIn: () => void }) {
  const [mode, setMode] = useState<"login" | "signup">("login");
  const [handle, setHandle] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [password, setPassword] = useState("");
  const [region, setRegion] = useState("eu-west");
  // Only the regions this server keeps data in (one, until regions work together), and the
  // countries whose people keep their data there: the country decides the home region.
  const [regions, setRegions] = useState<string[]>([]);
  const [countries, setCountries] = useState<string[]>([]);
  const [country, setCountry] = useState("");
  useEffect(() => {
    if (mode !== "signup" || regions.length) return;
    gql<{ regions: string[]; signUpCountries: string[] }>("{ regions signUpCountries }")
      .then((data) => {
        setRegions(data.regions);
        if (data.regions[0]) setRegion(data.regions[0]);
        setCountries(data.signUpCountries);
        setCountry(browserCountry(data.signUpCountries) ?? data.signUpCountries[0] ?? "");
      })
      .catch(() => undefined);
  }, [mode, regions.length]);
  const regionName = (value: string) => REGIONS.find(([v]) => v === value)?.[1] ?? value;
  // Mood entries are health data: nothing is shared until the person chooses to.
  const [sharing, setSharing] = useState<Privacy>("PRIVATE");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const reason = useSignal(signedOutReason);
  // The password was right and a second step is needed (MFA_REQUIRED): its token and methods.
  const [held, setHeld] = useState<{ mfaToken: string; methods: string[]; message: string } | null>(null);

  // A sign-in with another provider that no account has claimed: linked to the account
  // that logs in next here, with its password (the owner's confirmation).
  const [linking, setLinking] = useState<string | null>(null);
  const linkPassword = useRef("");
  const [notice, setNotice] = useState<string | null>(null);
  const device = navigator.userAgent.includes("Mobile") ? "phone browser" : "web browser";

  useEffect(() => {
    void finishCallback(device).then((outcome) => {
      if (outcome === null) return;
      if (outcome.kind === "session") void signedIn(outcome.session);
      else if (outcome.kind === "second-step") setHeld({ mfaToken: outcome.mfaToken, methods: outcome.methods, message: outcome.message });
      else if (outcome.kind === "link") {
        setLinking(outcome.linkToken);
        setNotice(outcome.message.charAt(0).toUpperCase() + outcome.message.slice(1) + ".");
      } else setError(outcome.message);
    });
  }, []);

  async function signedIn(session: NewSession) {
    if (session.deviceProof) keepDeviceProof(session.account.handle, session.deviceProof);
    saveSession(session.token, session.account.handle);
    signedOutReason.value = null;
    if (linking !== null && linkPassword.current) {
      try {
        await gql(LINK_SOCIAL, { linkToken: linking, password: linkPassword.current });
      } catch (e) {
        // Said on the login screen the next time it shows.
        signedOutReason.value = `The other sign-in was not linked: ${describe(e)}`;
      }
    }
    account.value = session.account;
    onSignedIn();
  }

  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    const cleanHandle = handle.trim().replace(/^@/, "").toLowerCase();
    if (mode === "signup" && password.length < 10) {
      setError("Your password needs at least 10 characters.");
      return;
    }
    setBusy(true);
    linkPassword.current = password;
    try {
      if (mode === "signup") {
        await gql(REGISTER, {
          input: { handle: cleanHandle, displayName: displayName.trim() || cleanHandle, password, country: country || null, defaultVisibility: sharing },
        });
      }
      const data = await gql<{ logIn: { token: string; deviceProof: string; account: Account } }>(LOG_IN, {
        handle: cleanHandle,
        password,
        device: navigator.userAgent.includes("Mobile") ? "phone browser" : "web browser",
        proof: deviceProof(cleanHandle),
      });
      await signedIn(data.logIn);
    } catch (e) {
      if (e instanceof ApiError && e.code === "MFA_REQUIRED") {
        const methods = Array.isArray(e.extensions["methods"]) ? (e.extensions["methods"] as string[]) : [];
        setHeld({ mfaToken: String(e.extensions["mfaToken"] ?? ""), methods, message: e.message.replace(/\.$/, "") });
        setPassword("");
        return;
      }
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }

  const signup = mode === "signup";
  if (held !== null) {
    return (
      <main id="main" class="auth">
        <h1 class="brand-big">HugMood</h1>
        <SecondStep {...held} onSession={signedIn} onCancel={() => setHeld(null)} />
      </main>
    );
  }
  return (
    <main id="main" class="auth">
      <h1 class="brand-big">HugMood</h1>
      <p class="lede">Check in with how you feel, share it as far as you choose, and send a hug.</p>
      <div class="segmented" role="tablist" aria-label="Log in or sign up">
        <button type="button" role="tab" aria-selected={!signup} onClick={() => { setMode("login"); setError(null); }}>
          Log in
        </button>
        <button type="button" role="tab" aria-selected={signup} onClick={() => { setMode("signup"); setError(null); }}>
          Sign up
        </button>
      </div>
      {reason && !error && <p class="notice" role="status">{reason}</p>}
      {notice && !error && <p class="notice" role="status">{notice}</p>}
      <form class="card" onSubmit={submit} aria-label={signup ? "Sign up" : "Log in"}>
        <label>
          Handle
          <input
            name="handle"
            autoComplete="username"
            autoCapitalize="none"
            spellcheck={false}
            required
            value={handle}
            onInput={(e) => setHandle(e.currentTarget.value)}
          />
          {signup && <small>3–30 characters: a letter, then letters, digits or _.</small>}
        </label>
        {signup && (
          <label>
            Display name
            <input name="displayName" autoComplete="nickname" value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />
          </label>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={signup ? "new-password" : "current-password"}
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
          {signup && <small>At least 10 characters.</small>}
        </label>
        {signup && countries.length > 0 && (
          <label>
            Country you live in
            <select name="country" value={country} onChange={(e) => setCountry(e.currentTarget.value)}>
              {[...countries].sort((a, b) => countryName(a).localeCompare(countryName(b))).map((code) => (
                <option key={code} value={code}>{countryName(code)}</option>
              ))}
            </select>
            <small>It decides which region keeps your data and which rules apply (such as the age a public profile needs); it cannot be changed later.</small>
          </label>
        )}
        {signup && regions.length === 1 && (
          <p class="muted small" data-testid="home-region">Your data lives in {regionName(region)}.</p>
        )}
        {signup && (
          <>
            <PrivacyChoice value={sharing} onChange={setSharing} name="defaultVisibility" legend="Who sees your check-ins" />
            <small>You can choose again for each check-in, and change this in Settings.</small>
          </>
        )}
        <ErrorText error={error} />
        <button class="primary" type="submit" disabled={busy}>
          {busy ? "One moment…" : signup ? "Create my account" : "Log in"}
        </button>
      </form>
      {!signup && linking === null && <SocialButton onError={setError} />}
      {!signup && <ForgotPassword />}
    </main>
  );
}
