// Settings: profile, privacy default, appear offline, accepted hugs, export my data, log out
// here or everywhere.

import { useEffect, useState } from "preact/hooks";
import { describe, gql } from "../api";
import { ACCOUNT, HUG_LABEL, HUG_TYPES, type Account, type HugType, type Privacy } from "../model";
import { exportCsv, exportJson, importEntries, readExport } from "../portability";
import { downloadArchive } from "../archive";
import { setAppearance, textSize, theme, type TextSize, type Theme } from "../appearance";
import { account, signOutLocally } from "../session";
import { useSignal } from "../signal";
import { ErrorText } from "./common";
import { PrivacyChoice } from "./checkin";
import { PrivacyCards } from "./privacy";
import { Reminders } from "./reminders";
import { TwoStepSettings } from "./two-step";

const UPDATE = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { ${ACCOUNT} } }`;

function Profile({ me }: { me: Account }) {
  const [displayName, setDisplayName] = useState(me.displayName);
  const [bio, setBio] = useState(me.bio);
  const [visibility, setVisibility] = useState<Privacy>(me.defaultVisibility);
  const [appearOffline, setAppearOffline] = useState(me.appearOffline);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  async function save(input: Record<string, unknown>, what: string) {
    setError(null);
    setSaved(null);
    try {
      account.value = (await gql<{ updateProfile: Account }>(UPDATE, { input })).updateProfile;
      setSaved(what);
    } catch (e) {
      setError(describe(e));
    }
  }

  return (
    <>
      <form
        class="card"
        aria-label="Profile"
        onSubmit={(e) => {
          e.preventDefault();
          void save({ displayName, bio, defaultVisibility: visibility }, "Saved.");
        }}
      >
        <label>
          Display name
          <input name="displayName" value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />
        </label>
        <label>
          About you
          <textarea name="bio" rows={2} value={bio} onInput={(e) => setBio(e.currentTarget.value)} />
        </label>
        <p class="muted small">New check-ins start with this choice; you can change it on each one.</p>
        <PrivacyChoice value={visibility} onChange={setVisibility} name="defaultVisibility" />
        <button class="primary" type="submit">
          Save profile
        </button>
      </form>
      <div class="card">
        <label class="switch">
          <input
            type="checkbox"
            name="appearOffline"
            checked={appearOffline}
            onChange={(e) => {
              const value = e.currentTarget.checked;
              setAppearOffline(value);
              void save({ appearOffline: value }, value ? "Friends now see you as offline." : "Friends can see when you're around again.");
            }}
          />
          Appear offline to friends
        </label>
      </div>
      <ErrorText error={error} />
      {saved && <p class="success" role="status">{saved}</p>}
    </>
  );
}

function AcceptedHugs() {
  const [accepted, setAccepted] = useState<HugType[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    gql<{ hugSettings: { acceptedTypes: HugType[] } }>("{ hugSettings { acceptedTypes } }")
      .then((data) => setAccepted(data.hugSettings.acceptedTypes))
      .catch((e) => setError(describe(e)));
  }, []);
  async function toggle(type: HugType, on: boolean) {
    if (accepted === null) return;
    const next = on ? [...accepted, type] : accepted.filter((t) => t !== type);
    setError(null);
    setSaved(false);
    try {
      const data = await gql<{ setAcceptedHugTypes: { acceptedTypes: HugType[] } }>(
        "mutation($types: [HugType!]!) { setAcceptedHugTypes(hugTypes: $types) { acceptedTypes } }",
        { types: next },
      );
      setAccepted(data.setAcceptedHugTypes.acceptedTypes);
      setSaved(true);
    } catch (e) {
      setError(describe(e));
    }
  }
  return (
    <fieldset class="card hug-types">
      <legend>Hugs you accept</legend>
      {accepted === null ? (
        <p class="muted">Loading…</p>
      ) : (
        HUG_TYPES.map((t) => (
          <label key={t} class={`chip${accepted.includes(t) ? " chosen" : ""}`}>
            <input type="checkbox" checked={accepted.includes(t)} onChange={(e) => void toggle(t, e.currentTarget.checked)} />
            {HUG_LABEL[t]}
          </label>
        ))
      )}
      <ErrorText error={error} />
      {saved && <p class="success" role="status">Saved.</p>}
    </fieldset>
  );
}

interface SessionRow {
  id: string;
  device: string | null;
  startedAt: string;
  current: boolean;
}

/** The devices signed in to this account; any other one can be signed out from here. */
function Sessions() {
  const [sessions, setSessions] = useState<SessionRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    gql<{ mySessions: SessionRow[] }>("{ mySessions { id device startedAt current } }")
      .then((data) => setSessions(data.mySessions))
      .catch((e) => setError(describe(e)));
  }, [version]);
  async function signOut(id: string) {
    setError(null);
    try {
      await gql("mutation($id: ID!) { logOutSession(id: $id) }", { id });
      setVersion((v) => v + 1);
    } catch (e) {
      setError(describe(e));
    }
  }
  return (
    <section class="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Signed-in devices</h2>
      {sessions === null ? (
        <p class="muted">{error ? "Not available right now." : "Loading…"}</p>
      ) : (
        <ul class="sessions" data-testid="sessions">
          {sessions.map((s) => (
            <li key={s.id} class="row spread">
              <span>
                {s.device ?? "a device"} <span class="muted small">since {new Date(s.startedAt).toLocaleString()}</span>
              </span>
              {s.current ? (
                <span class="muted small">this device</span>
              ) : (
                <button type="button" onClick={() => void signOut(s.id)} aria-label={`Log out ${s.device ?? "a device"} signed in ${new Date(s.startedAt).toLocaleString()}`}>
                  Log out
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <ErrorText error={error} />
    </section>
  );
}

function ChangePassword() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  async function change(event: Event) {
    event.preventDefault();
    setError(null);
    setDone(null);
    if (next.length < 10) {
      setError("Your new password needs at least 10 characters.");
      return;
    }
    try {
      const ended = (
        await gql<{ changePassword: number }>(
          "mutation($current: String!, $next: String!) { changePassword(currentPassword: $current, newPassword: $next) }",
          { current, next },
        )
      ).changePassword;
      setCurrent("");
      setNext("");
      setDone(`Your password is changed.${ended ? ` Your other devices (${ended}) were logged out.` : ""}`);
    } catch (e) {
      setError(describe(e));
    }
  }
  return (
    <form class="card" onSubmit={change} aria-label="Change password">
      <label>
        Current password
        <input type="password" name="currentPassword" autoComplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
      </label>
      <label>
        New password
        <input type="password" name="newPassword" autoComplete="new-password" required value={next} onInput={(e) => setNext(e.currentTarget.value)} />
        <small>At least 10 characters. Your other devices will be logged out.</small>
      </label>
      <ErrorText error={error} />
      {done && <p class="success" role="status">{done}</p>}
      <button type="submit">Change password</button>
    </form>
  );
}

const THEMES: [Theme, string][] = [
  ["system", "Like my device"],
  ["light", "Light"],
  ["dark", "Dark"],
];

/** Kept on this device only: each phone or computer can look its own way. */
function Appearance() {
  const [chosenTheme, setTheme] = useState<Theme>(theme());
  const [size, setSize] = useState<TextSize>(textSize());
  return (
    <div class="card">
      <fieldset class="segmented-radio">
        <legend>Appearance</legend>
        {THEMES.map(([value, label]) => (
          <label key={value} class={value === chosenTheme ? "chosen" : ""}>
            <input
              type="radio"
              name="theme"
              value={value}
              checked={value === chosenTheme}
              onChange={() => {
                setTheme(value);
                setAppearance({ theme: value });
              }}
            />
            {label}
          </label>
        ))}
      </fieldset>
      <label class="switch">
        <input
          type="checkbox"
          name="largerText"
          checked={size === "large"}
          onChange={(e) => {
            const next: TextSize = e.currentTarget.checked ? "large" : "normal";
            setSize(next);
            setAppearance({ text: next });
          }}
        />
        Larger text
      </label>
    </div>
  );
}

function download(content: string, type: string, extension: string): void {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([content], { type }));
  link.download = `hugmood-export-${new Date().toISOString().slice(0, 10)}.${extension}`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

function ImportData() {
  const [withNotes, setWithNotes] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  async function choose(event: Event) {
    const input = event.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    setError(null);
    setDone(null);
    setBusy(true);
    try {
      const report = await importEntries(readExport(await file.text()), withNotes);
      const entries = (n: number) => (n === 1 ? "1 entry" : `${n} entries`);
      setDone(
        `Imported ${entries(report.stored)}` +
          (report.already ? ` (${entries(report.already)} already here)` : "") +
          (report.refused.length ? `; ${entries(report.refused.length)} refused: ${report.refused[0] ?? ""}` : "") +
          ".",
      );
    } catch (e) {
      setError(e instanceof Error && !(e.name === "ApiError" || e.name === "NetworkError") ? e.message : describe(e));
    } finally {
      setBusy(false);
      input.value = "";
    }
  }
  return (
    <div class="card">
      <label>
        Import a HugMood export (JSON from this app or from the <code>hugmood</code> command)
        <input type="file" name="importFile" accept=".json,application/json" disabled={busy} onChange={choose} />
      </label>
      <label class="inline-check">
        <input type="checkbox" name="importNotes" checked={withNotes} onChange={(e) => setWithNotes(e.currentTarget.checked)} />
        Upload the notes too (otherwise they stay in the file)
      </label>
      <ErrorText error={error} />
      {done && <p class="success" role="status">{done}</p>}
    </div>
  );
}

function ExportAndLogOut() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function exportData(kind: "json" | "csv" | "archive") {
    setError(null);
    setBusy(true);
    try {
      if (kind === "archive") await downloadArchive("json");
      else if (kind === "json") download(await exportJson(), "application/json", "json");
      else download(await exportCsv(), "text/csv", "csv");
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }
  async function logOut() {
    setError(null);
    try {
      await gql("mutation { logOut }");
    } catch (e) {
      setError(describe(e));
      return;
    }
    signOutLocally("You've logged out. See you soon.");
  }
  async function logOutEverywhere() {
    setError(null);
    let ended = 0;
    try {
      ended = (await gql<{ logOutEverywhere: number }>("mutation { logOutEverywhere }")).logOutEverywhere;
    } catch (e) {
      setError(describe(e));
      return;
    }
    const devices = ended === 1 ? "1 session" : `${ended} sessions`;
    signOutLocally(`You've logged out everywhere (${devices} ended). See you soon.`);
  }
  return (
    <div class="card">
      <p>
        Download everything HugMood keeps about you (profile, check-ins, friends and hugs) as JSON, which this app and
        the <code>hugmood</code> command both import, or your check-ins as CSV. The complete archive adds
        everything the server keeps about you: settings, insights, photos, and your items and images on boards.
      </p>
      <div class="row wrap">
        <button type="button" onClick={() => void exportData("archive")} disabled={busy}>
          Download the complete archive
        </button>
        <button type="button" onClick={() => void exportData("json")} disabled={busy}>
          {busy ? "Preparing…" : "Export my data"}
        </button>
        <button type="button" onClick={() => void exportData("csv")} disabled={busy}>
          Export check-ins as CSV
        </button>
        <button type="button" class="danger" onClick={logOut}>
          Log out
        </button>
        <button type="button" class="danger" onClick={logOutEverywhere}>
          Log out everywhere
        </button>
      </div>
      <ErrorText error={error} />
    </div>
  );
}

const DELETE_ACCOUNT = "mutation($password: String!) { deleteAccount(password: $password) }";
const SCHEDULE_DELETION =
  "mutation($password: String!, $days: Int!) { scheduleAccountDeletion(password: $password, graceDays: $days) }";
const DELETION_DUE = "{ accountDeletionDue }";
const CANCEL_DELETION = "mutation { cancelAccountDeletion }";

/** The deletion this person asked for with a grace period, and the way to take it back. */
function DeletionWaiting({ due, onCancelled }: { due: string; onCancelled: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function keep() {
    setError(null);
    setBusy(true);
    try {
      await gql(CANCEL_DELETION);
      onCancelled();
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <section class="card" role="alert" data-testid="deletion-waiting">
      <h2>Your account is to be erased</h2>
      <p>
        You asked to delete your account. It will be erased for good on{" "}
        <strong>{new Date(due).toLocaleString()}</strong>. Until then you can change your mind.
      </p>
      <ErrorText error={error} />
      <button type="button" onClick={keep} disabled={busy}>
        {busy ? "Keeping…" : "Keep my account"}
      </button>
    </section>
  );
}

function DeleteAccount() {
  const [password, setPassword] = useState("");
  const [understood, setUnderstood] = useState(false);
  const [graceDays, setGraceDays] = useState(0);
  const [due, setDue] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    gql<{ accountDeletionDue: string | null }>(DELETION_DUE)
      .then((data) => setDue(data.accountDeletionDue))
      .catch(() => setDue(null));
  }, []);
  async function erase(e: Event) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      if (graceDays === 0) {
        await gql(DELETE_ACCOUNT, { password });
      } else {
        const data = await gql<{ scheduleAccountDeletion: string }>(SCHEDULE_DELETION, { password, days: graceDays });
        const when = new Date(data.scheduleAccountDeletion).toLocaleString();
        signOutLocally(`Your account will be erased on ${when}. Sign in before then to keep it.`);
        return;
      }
    } catch (err) {
      setError(describe(err));
      setBusy(false);
      return;
    }
    signOutLocally("Your account was erased: nothing you wrote can be read again. Take care.");
  }
  if (due !== null) {
    return <DeletionWaiting due={due} onCancelled={() => setDue(null)} />;
  }
  return (
    <form class="card" onSubmit={erase}>
      <h2>Delete your account</h2>
      <p>
        This erases your account for good: your check-ins, notes, photos, hugs, boards you own and insights can never
        be read again, on any copy, and your friends no longer see you. Download the complete archive first if you
        want to keep them. Your handle is not given to anyone else.
      </p>
      <label>
        When
        <select
          name="deleteWhen"
          value={String(graceDays)}
          onChange={(e) => setGraceDays(Number(e.currentTarget.value))}
        >
          <option value="0">Now</option>
          <option value="7">In 7 days (you can change your mind until then)</option>
          <option value="30">In 30 days (you can change your mind until then)</option>
        </select>
      </label>
      <label>
        Your password
        <input
          type="password"
          name="deletePassword"
          autocomplete="current-password"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
          required
        />
      </label>
      <label class="inline-check">
        <input
          type="checkbox"
          name="deleteUnderstood"
          checked={understood}
          onChange={(e) => setUnderstood(e.currentTarget.checked)}
        />
        {graceDays === 0 ? "I understand this cannot be undone" : "I understand it cannot be undone once erased"}
      </label>
      <ErrorText error={error} />
      <button type="submit" class="danger" disabled={busy || !understood || password === ""}>
        {busy ? "Erasing…" : graceDays === 0 ? "Delete my account" : `Delete my account in ${graceDays} days`}
      </button>
    </form>
  );
}

export function SettingsScreen() {
  const me = useSignal(account);
  return (
    <>
      <h1>Settings</h1>
      {me === null ? <p class="muted">Loading…</p> : <Profile key={me.id} me={me} />}
      <Reminders />
      <PrivacyCards />
      <AcceptedHugs />
      <Appearance />
      <ChangePassword />
      <TwoStepSettings />
      <Sessions />
      <ImportData />
      <ExportAndLogOut />
      <DeleteAccount />
    </>
  );
}
