// Settings: profile, privacy default, appear offline, accepted hugs, export my data, log out
// here or everywhere.

import { useEffect, useState } from "preact/hooks";
import { describe, gql } from "../api";
import { ACCOUNT, ENTRY, HUG, HUG_LABEL, HUG_TYPES, PROFILE, type Account, type HugType, type Privacy } from "../model";
import { account, signOutLocally } from "../session";
import { useSignal } from "../signal";
import { ErrorText } from "./common";
import { PrivacyChoice } from "./checkin";

const UPDATE = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { ${ACCOUNT} } }`;

const EXPORT = `{
  me { ${ACCOUNT} homeRegion }
  friends: connections(status: FRIENDS) { profile { ${PROFILE} } since }
  incoming: connections(status: INCOMING) { profile { ${PROFILE} } since }
  requested: connections(status: REQUESTED) { profile { ${PROFILE} } since }
  blocked: connections(status: BLOCKED) { profile { ${PROFILE} } since }
  inbox(limit: 100) { ${HUG} deliveredAt seenAt }
  sentHugs(limit: 100) { ${HUG} deliveredAt seenAt }
  hugSettings { acceptedTypes muted { handle } }
}`;
const ENTRIES = `query($from: DateTime!, $to: DateTime!) {
  moodHistory(from: $from, to: $to) { entries { ${ENTRY} createdAt updatedAt } }
}`;
/** A history query may span at most three years: ask in windows of two. */
const WINDOW_MS = 2 * 365 * 86_400_000;

async function everything(): Promise<Record<string, unknown>> {
  const data = await gql<{ me: Account } & Record<string, unknown>>(EXPORT);
  const entries: unknown[] = [];
  const end = Date.now() + 60_000;
  // Check-ins may be back-dated before the account existed (to 2000-01-01 at the earliest).
  for (let start = Date.parse("2000-01-01T00:00:00Z"); start < end; start += WINDOW_MS) {
    const to = Math.min(start + WINDOW_MS, end);
    const page = await gql<{ moodHistory: { entries: unknown[] } }>(ENTRIES, {
      from: new Date(start).toISOString(),
      to: new Date(to).toISOString(),
    });
    entries.push(...page.moodHistory.entries);
  }
  return { exportedAt: new Date().toISOString(), ...data, moodEntries: entries };
}

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

function ExportAndLogOut() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function exportData() {
    setError(null);
    setBusy(true);
    try {
      const blob = new Blob([JSON.stringify(await everything(), null, 2)], { type: "application/json" });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `hugmood-export-${new Date().toISOString().slice(0, 10)}.json`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
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
      <p>Download everything HugMood keeps about you: profile, check-ins, friends and hugs, as JSON.</p>
      <div class="row wrap">
        <button type="button" onClick={exportData} disabled={busy}>
          {busy ? "Preparing…" : "Export my data"}
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

export function SettingsScreen() {
  const me = useSignal(account);
  return (
    <>
      <h1>Settings</h1>
      {me === null ? <p class="muted">Loading…</p> : <Profile key={me.id} me={me} />}
      <AcceptedHugs />
      <ExportAndLogOut />
    </>
  );
}
