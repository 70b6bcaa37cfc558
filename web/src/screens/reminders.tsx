// Settings: a daily check-in reminder (time, days, this device's time zone) by Web Push to this
// browser and/or by e-mail, and the e-mail address it goes to (confirmed with a mailed code).

import { useEffect, useState } from "preact/hooks";
import { describe, gql } from "../api";
import { ErrorText } from "./common";

const DAYS: [string, string][] = [
  ["mon", "Mon"],
  ["tue", "Tue"],
  ["wed", "Wed"],
  ["thu", "Thu"],
  ["fri", "Fri"],
  ["sat", "Sat"],
  ["sun", "Sun"],
];

interface ReminderSettings {
  enabled: boolean;
  time: string;
  days: string[];
  timeZone: string;
  byPush: boolean;
  byEmail: boolean;
  quietDays: number;
  pushEndpoints: string[];
  pushPublicKey: string;
  email: string | null;
  emailPending: string | null;
  emailAvailable: boolean;
}

const FIELDS = "enabled time days timeZone byPush byEmail quietDays pushEndpoints pushPublicKey email emailPending emailAvailable";

function deviceTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  const bytes = new Uint8Array(new ArrayBuffer(atob(base64).length));
  Array.from(atob(base64), (c, i) => (bytes[i] = c.charCodeAt(0)));
  return bytes;
}

function pushSupported(): boolean {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

/** This browser's push subscription for HugMood, made (after asking) if there is none. */
async function subscribeHere(publicKey: string): Promise<PushSubscriptionJSON> {
  if (!pushSupported()) throw new Error("This browser cannot show reminders; choose e-mail instead.");
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error("Notifications are blocked for HugMood in this browser; allow them, or choose e-mail.");
  const registration = await navigator.serviceWorker.ready;
  const existing = await registration.pushManager.getSubscription();
  const subscription =
    existing ?? (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) }));
  return subscription.toJSON();
}

export function Reminders() {
  const [settings, setSettings] = useState<ReminderSettings | null>(null);
  const [time, setTime] = useState("20:00");
  const [days, setDays] = useState<string[]>(DAYS.map(([d]) => d));
  const [byPush, setByPush] = useState(true);
  const [byEmail, setByEmail] = useState(false);
  const [quietDays, setQuietDays] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  function show(next: ReminderSettings) {
    setSettings(next);
    setTime(next.time);
    setDays(next.days);
    setByPush(next.byPush);
    setByEmail(next.byEmail);
    setQuietDays(next.quietDays);
  }

  useEffect(() => {
    gql<{ reminderSettings: ReminderSettings }>(`{ reminderSettings { ${FIELDS} } }`)
      .then((data) => show(data.reminderSettings))
      .catch((e) => setError(describe(e)));
  }, []);

  async function save(enabled: boolean) {
    if (settings === null) return;
    setError(null);
    setSaved(null);
    try {
      if (enabled && byPush) {
        const sub = await subscribeHere(settings.pushPublicKey);
        if (!settings.pushEndpoints.includes(sub.endpoint ?? "")) {
          await gql(`mutation($input: PushSubscriptionInput!) { addPushSubscription(input: $input) { enabled } }`, {
            input: { endpoint: sub.endpoint, p256dh: sub.keys?.p256dh, auth: sub.keys?.auth },
          });
        }
      }
      const input = { enabled, time, days, timeZone: deviceTimeZone(), byPush, byEmail, quietDays };
      const data = await gql<{ setReminder: ReminderSettings }>(
        `mutation($input: SetReminderInput!) { setReminder(input: $input) { ${FIELDS} } }`,
        { input },
      );
      show(data.setReminder);
      const when = quietDays > 0 ? `only after ${quietDays} days without a check-in, at ${time}` : `at ${time}`;
      setSaved(enabled ? `You'll be reminded ${when} (${input.timeZone}) unless you've already checked in.` : "Reminders are off.");
    } catch (e) {
      setError(e instanceof Error && e.name === "Error" ? e.message : describe(e));
    }
  }

  return (
    <>
    <form
      class="card"
      aria-label="Daily reminder"
      onSubmit={(e) => {
        e.preventDefault();
        void save(true);
      }}
    >
      <h2>Daily reminder</h2>
      {settings === null ? (
        <p class="muted">{error ? "Not available right now." : "Loading…"}</p>
      ) : (
        <>
          <p class="muted small">
            {settings.enabled ? `On, at ${settings.time} (${settings.timeZone}).` : "Off."} No reminder comes on a day you've already
            checked in.
          </p>
          <label>
            Time
            <input type="time" name="reminderTime" required value={time} onInput={(e) => setTime(e.currentTarget.value)} />
          </label>
          <fieldset class="reminder-days">
            <legend>Days</legend>
            {DAYS.map(([value, label]) => (
              <label key={value} class={`chip${days.includes(value) ? " chosen" : ""}`}>
                <input
                  type="checkbox"
                  name="reminderDay"
                  value={value}
                  checked={days.includes(value)}
                  onChange={(e) => setDays(e.currentTarget.checked ? [...days, value] : days.filter((d) => d !== value))}
                />
                {label}
              </label>
            ))}
          </fieldset>
          <label>
            How often
            <select name="reminderQuietDays" value={String(quietDays)} onChange={(e) => setQuietDays(Number(e.currentTarget.value))}>
              <option value="0">On each of these days</option>
              <option value="2">Only if I haven't checked in for 2 days</option>
              <option value="3">Only if I haven't checked in for 3 days</option>
              <option value="7">Only if I haven't checked in for a week</option>
            </select>
          </label>
          <label class="inline-check">
            <input type="checkbox" name="reminderByPush" checked={byPush} onChange={(e) => setByPush(e.currentTarget.checked)} />
            A notification on this device
          </label>
          <label class="inline-check">
            <input
              type="checkbox"
              name="reminderByEmail"
              checked={byEmail}
              disabled={!settings.email}
              onChange={(e) => setByEmail(e.currentTarget.checked)}
            />
            An e-mail{settings.email ? ` to ${settings.email}` : " (add and confirm an address below first)"}
          </label>
          <div class="row wrap">
            <button class="primary" type="submit">
              {settings.enabled ? "Save reminder" : "Turn on reminder"}
            </button>
            {settings.enabled && (
              <button type="button" onClick={() => void save(false)}>
                Turn off
              </button>
            )}
          </div>
        </>
      )}
      <ErrorText error={error} />
      {saved && <p class="success" role="status">{saved}</p>}
    </form>
    {settings && <EmailAddress settings={settings} onChange={show} />}
    </>
  );
}

/** The address e-mail reminders (and password reset) go to; shown to no one else. */
function EmailAddress({ settings, onChange }: { settings: ReminderSettings; onChange: (s: ReminderSettings) => void }) {
  const [address, setAddress] = useState("");
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | null>(null);
  if (!settings.emailAvailable) return null;
  async function run(query: string, variables: Record<string, unknown>, key: string) {
    setError(null);
    try {
      const data = await gql<Record<string, ReminderSettings>>(query, variables);
      const next = data[key];
      if (next) onChange(next);
      setCode("");
      setAddress("");
    } catch (e) {
      setError(describe(e));
    }
  }
  return (
    <section class="card email-address" aria-label="E-mail address">
      <h2>E-mail address</h2>
      <p class="muted small">Only you see it. It is used for reminders you ask for and to reset your password.</p>
      {settings.email && (
        <p>
          <strong>{settings.email}</strong>{" "}
          <button type="button" onClick={() => void run(`mutation { removeEmailAddress { ${FIELDS} } }`, {}, "removeEmailAddress")}>
            Remove
          </button>
        </p>
      )}
      {settings.emailPending ? (
        <div class="row wrap">
          <label>
            Code sent to {settings.emailPending}
            <input name="emailCode" inputMode="numeric" autoComplete="one-time-code" value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          </label>
          <button
            type="button"
            onClick={() => void run(`mutation($code: String!) { confirmEmailAddress(code: $code) { ${FIELDS} } }`, { code }, "confirmEmailAddress")}
          >
            Confirm
          </button>
        </div>
      ) : (
        <div class="row wrap">
          <label>
            {settings.email ? "Change to" : "Address"}
            <input type="email" name="email" autoComplete="email" value={address} onInput={(e) => setAddress(e.currentTarget.value)} />
          </label>
          <button
            type="button"
            onClick={() => void run(`mutation($email: String!) { setEmailAddress(email: $email) { ${FIELDS} } }`, { email: address }, "setEmailAddress")}
          >
            Send code
          </button>
        </div>
      )}
      <ErrorText error={error} />
    </section>
  );
}
