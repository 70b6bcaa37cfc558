// Two-step sign-in: the second step on the login screen (a code, a recovery code or a
// passkey), setting up an authenticator app, and managing second factors in Settings.

import { useEffect, useState } from "preact/hooks";
import { describe, gql } from "../api";
import { ACCOUNT, type Account } from "../model";
import { createPasskey, passkeysSupported, usePasskey } from "../passkeys";
import { ErrorText } from "./common";

export interface NewSession {
  token: string;
  deviceProof: string;
  account: Account;
}

const SESSION = `token deviceProof account { ${ACCOUNT} }`;
const COMPLETE = `mutation($mfaToken: String!, $code: String, $recoveryCode: String) {
  completeLogIn(mfaToken: $mfaToken, code: $code, recoveryCode: $recoveryCode) { ${SESSION} }
}`;
const START_PASSKEY_LOG_IN = `mutation($mfaToken: String!) {
  startPasskeyLogIn(mfaToken: $mfaToken) { challengeId optionsJson }
}`;
const FINISH_PASSKEY_LOG_IN = `mutation($mfaToken: String!, $challengeId: ID!, $credential: String!) {
  finishPasskeyLogIn(mfaToken: $mfaToken, challengeId: $challengeId, credential: $credential) { ${SESSION} }
}`;
const START_SETUP = `mutation($mfaToken: String) { startAuthenticatorSetup(mfaToken: $mfaToken) { secret otpauthUri } }`;
const CONFIRM_SETUP = `mutation($code: String!, $mfaToken: String) {
  confirmAuthenticatorSetup(code: $code, mfaToken: $mfaToken) { recoveryCodes session { ${SESSION} } }
}`;
const FACTORS = `{ mySecondFactors { authenticatorApp recoveryCodesLeft required passkeys { id name addedAt } } }`;
const TURN_OFF = `mutation($password: String!, $code: String, $recoveryCode: String) {
  turnOffAuthenticator(password: $password, code: $code, recoveryCode: $recoveryCode)
}`;
const NEW_CODES = `mutation($code: String!) { newRecoveryCodes(code: $code) }`;
const START_PASSKEY = `mutation { startPasskeyRegistration { challengeId optionsJson } }`;
const FINISH_PASSKEY = `mutation($challengeId: ID!, $credential: String!, $name: String!) {
  finishPasskeyRegistration(challengeId: $challengeId, credential: $credential, name: $name) { authenticatorApp }
}`;
const REMOVE_PASSKEY = `mutation($id: ID!, $password: String!) { removePasskey(id: $id, password: $password) }`;

interface Ceremony {
  challengeId: string;
  optionsJson: string;
}

/** Six digits are the app's code; anything else is a recovery code. */
function asCode(answer: string): { code: string | null; recoveryCode: string | null } {
  const plain = answer.replace(/\s+/g, "");
  return /^\d{6}$/.test(plain) ? { code: plain, recoveryCode: null } : { code: null, recoveryCode: answer.trim() };
}

function passkeyWords(error: unknown): string {
  if (error instanceof DOMException) return "The passkey did not answer (cancelled or timed out). Please try again.";
  return describe(error);
}

export function SecondStep({
  mfaToken,
  methods,
  message,
  onSession,
  onCancel,
}: {
  mfaToken: string;
  methods: string[];
  message: string;
  onSession: (session: NewSession) => void;
  onCancel: () => void;
}) {
  const [answer, setAnswer] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (methods.includes("ENROL_TOTP")) {
    return <AuthenticatorSetup mfaToken={mfaToken} intro={message} onDone={(s) => s && onSession(s)} />;
  }

  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const data = await gql<{ completeLogIn: NewSession }>(COMPLETE, { mfaToken, ...asCode(answer) });
      onSession(data.completeLogIn);
    } catch (e) {
      setError(describe(e));
      setAnswer("");
    } finally {
      setBusy(false);
    }
  }

  async function passkey() {
    setError(null);
    setBusy(true);
    try {
      const started = await gql<{ startPasskeyLogIn: Ceremony }>(START_PASSKEY_LOG_IN, { mfaToken });
      const credential = await usePasskey(started.startPasskeyLogIn.optionsJson);
      const data = await gql<{ finishPasskeyLogIn: NewSession }>(FINISH_PASSKEY_LOG_IN, {
        mfaToken,
        challengeId: started.startPasskeyLogIn.challengeId,
        credential,
      });
      onSession(data.finishPasskeyLogIn);
    } catch (e) {
      setError(passkeyWords(e));
    } finally {
      setBusy(false);
    }
  }

  const withCode = methods.includes("TOTP");
  return (
    <section class="card" aria-labelledby="second-step-title">
      <h2 id="second-step-title">One more step</h2>
      <p class="muted">Your password was right. Now show it's you{withCode ? "" : " with your passkey"}.</p>
      {methods.includes("PASSKEY") && passkeysSupported() && (
        <button type="button" class="primary" onClick={passkey} disabled={busy}>
          Use my passkey
        </button>
      )}
      {withCode && (
        <form onSubmit={submit} aria-label="Second step">
          <label>
            Code from your authenticator app, or a recovery code
            <input
              name="code"
              autoComplete="one-time-code"
              inputMode="text"
              autoCapitalize="none"
              spellcheck={false}
              required
              value={answer}
              onInput={(e) => setAnswer(e.currentTarget.value)}
            />
          </label>
          <button class={methods.includes("PASSKEY") ? "" : "primary"} type="submit" disabled={busy}>
            {busy ? "One moment…" : "Continue"}
          </button>
        </form>
      )}
      <ErrorText error={error} />
      <button type="button" class="link" onClick={onCancel}>
        Start again
      </button>
    </section>
  );
}

/** Set up an authenticator app: the key (and otpauth URI), a first code, the recovery codes. */
function AuthenticatorSetup({
  mfaToken,
  intro,
  onDone,
  onCancel,
}: {
  mfaToken: string | null;
  intro: string | null;
  onDone: (session: NewSession | null) => void;
  onCancel?: () => void;
}) {
  const [setup, setSetup] = useState<{ secret: string; otpauthUri: string } | null>(null);
  const [code, setCode] = useState("");
  const [codes, setCodes] = useState<string[] | null>(null);
  const [session, setSession] = useState<NewSession | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    gql<{ startAuthenticatorSetup: { secret: string; otpauthUri: string } }>(START_SETUP, { mfaToken })
      .then((data) => setSetup(data.startAuthenticatorSetup))
      .catch((e) => setError(describe(e)));
  }, [mfaToken]);

  async function confirm(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      const data = await gql<{ confirmAuthenticatorSetup: { recoveryCodes: string[]; session: NewSession | null } }>(
        CONFIRM_SETUP,
        { code: code.replace(/\s+/g, ""), mfaToken },
      );
      setCodes(data.confirmAuthenticatorSetup.recoveryCodes);
      setSession(data.confirmAuthenticatorSetup.session);
    } catch (e) {
      setError(describe(e));
    }
  }

  if (codes !== null) {
    return (
      <section class="card" aria-labelledby="recovery-title">
        <h2 id="recovery-title">Your recovery codes</h2>
        <p>Each signs you in once if you lose your phone. Keep them somewhere safe: they are not shown again.</p>
        <ul class="recovery-codes" data-testid="recovery-codes">
          {codes.map((c) => (
            <li key={c}>
              <code>{c}</code>
            </li>
          ))}
        </ul>
        <button type="button" class="primary" onClick={() => onDone(session)}>
          I have kept them
        </button>
      </section>
    );
  }
  return (
    <section class="card" aria-labelledby="setup-title">
      <h2 id="setup-title">Set up an authenticator app</h2>
      {intro && <p class="notice">{intro.charAt(0).toUpperCase() + intro.slice(1)}.</p>}
      {setup === null ? (
        <p class="muted">Loading…</p>
      ) : (
        <form onSubmit={confirm} aria-label="Set up an authenticator app">
          <p>Add HugMood to your authenticator app with this key (shown once):</p>
          <p>
            <code data-testid="totp-secret">{setup.secret}</code>
          </p>
          <p class="small">
            Or open <a href={setup.otpauthUri}>this link</a> on the phone that has the app.
          </p>
          <label>
            A code from the app
            <input name="code" autoComplete="one-time-code" inputMode="numeric" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          </label>
          <button class="primary" type="submit">
            Turn on two-step sign-in
          </button>
        </form>
      )}
      {onCancel && (
        <button type="button" class="link" onClick={onCancel}>
          Not now
        </button>
      )}
      <ErrorText error={error} />
    </section>
  );
}

interface Factors {
  authenticatorApp: boolean;
  recoveryCodesLeft: number;
  required: boolean;
  passkeys: { id: string; name: string; addedAt: string }[];
}

/** Settings: the authenticator app, recovery codes and passkeys. */
export function TwoStepSettings() {
  const [factors, setFactors] = useState<Factors | null>(null);
  const [mode, setMode] = useState<"idle" | "setup" | "off" | "codes">("idle");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [newCodes, setNewCodes] = useState<string[] | null>(null);
  const [passkeyName, setPasskeyName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function refresh() {
    try {
      setFactors((await gql<{ mySecondFactors: Factors }>(FACTORS)).mySecondFactors);
    } catch (e) {
      setError(describe(e));
    }
  }
  useEffect(() => {
    void refresh();
  }, []);

  async function act(work: () => Promise<void>) {
    setError(null);
    setBusy(true);
    try {
      await work();
      setPassword("");
      setCode("");
      await refresh();
    } catch (e) {
      setError(passkeyWords(e));
    } finally {
      setBusy(false);
    }
  }

  const turnOff = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      await gql(TURN_OFF, { password, ...asCode(code) });
      setMode("idle");
    });
  };
  const replaceCodes = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      setNewCodes((await gql<{ newRecoveryCodes: string[] }>(NEW_CODES, { code: code.replace(/\s+/g, "") })).newRecoveryCodes);
      setMode("idle");
    });
  };
  const addPasskey = () =>
    act(async () => {
      const started = (await gql<{ startPasskeyRegistration: Ceremony }>(START_PASSKEY)).startPasskeyRegistration;
      const credential = await createPasskey(started.optionsJson);
      await gql(FINISH_PASSKEY, { challengeId: started.challengeId, credential, name: passkeyName.trim() || "Passkey" });
      setPasskeyName("");
    });
  const removePasskey = (id: string) =>
    act(async () => {
      await gql(REMOVE_PASSKEY, { id, password });
    });

  if (mode === "setup") {
    return (
      <AuthenticatorSetup
        mfaToken={null}
        intro={null}
        onCancel={() => setMode("idle")}
        onDone={() => {
          setMode("idle");
          void refresh();
        }}
      />
    );
  }
  return (
    <section class="card" aria-labelledby="two-step-title">
      <h2 id="two-step-title">Two-step sign-in</h2>
      {factors === null ? (
        <p class="muted">Loading…</p>
      ) : (
        <>
          {factors.required && <p class="muted small">This server asks every account for a second step.</p>}
          <p data-testid="authenticator-status">
            Authenticator app: {factors.authenticatorApp ? `on · ${factors.recoveryCodesLeft} recovery codes left` : "off"}
          </p>
          <div class="row">
            {!factors.authenticatorApp && (
              <button type="button" onClick={() => setMode("setup")}>
                Set up an authenticator app
              </button>
            )}
            {factors.authenticatorApp && (
              <>
                <button type="button" onClick={() => setMode("codes")}>New recovery codes</button>
                <button type="button" class="danger" onClick={() => setMode("off")}>Turn off</button>
              </>
            )}
          </div>
          {(mode === "off" || mode === "codes") && (
            <form onSubmit={mode === "off" ? turnOff : replaceCodes} aria-label={mode === "off" ? "Turn off the authenticator app" : "New recovery codes"}>
              {mode === "off" && (
                <label>
                  Password
                  <input type="password" name="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
                </label>
              )}
              <label>
                {mode === "off" ? "A code from the app, or a recovery code" : "A code from the app"}
                <input name="code" autoComplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
              </label>
              <button type="submit" class={mode === "off" ? "danger" : "primary"} disabled={busy}>
                {mode === "off" ? "Turn off" : "Make new codes"}
              </button>
            </form>
          )}
          {newCodes && (
            <ul class="recovery-codes" data-testid="recovery-codes">
              {newCodes.map((c) => (
                <li key={c}>
                  <code>{c}</code>
                </li>
              ))}
            </ul>
          )}
          <h3>Passkeys</h3>
          {factors.passkeys.length === 0 && <p class="muted small">None yet.</p>}
          <ul class="passkeys" data-testid="passkeys">
            {factors.passkeys.map((p) => (
              <li key={p.id}>
                {p.name} <span class="muted small">added {new Date(p.addedAt).toLocaleDateString()}</span>{" "}
                <button type="button" class="link" disabled={busy || !password} onClick={() => removePasskey(p.id)} title="Type your password below first">
                  Remove
                </button>
              </li>
            ))}
          </ul>
          {factors.passkeys.length > 0 && mode === "idle" && (
            <label class="small">
              Password (to remove a passkey)
              <input type="password" name="passkeyPassword" autoComplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </label>
          )}
          {passkeysSupported() ? (
            <div class="row">
              <label>
                Name for a new passkey
                <input name="passkeyName" placeholder="My laptop" value={passkeyName} onInput={(e) => setPasskeyName(e.currentTarget.value)} />
              </label>
              <button type="button" onClick={addPasskey} disabled={busy}>
                Add a passkey
              </button>
            </div>
          ) : (
            <p class="muted small">This browser cannot use passkeys here.</p>
          )}
        </>
      )}
      <ErrorText error={error} />
    </section>
  );
}
