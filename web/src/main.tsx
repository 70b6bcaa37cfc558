// The app shell: who is signed in, navigation between screens, live hugs and what is waiting.

import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./style.css";
import { onSessionEnded, token } from "./api";
import { applyAppearance } from "./appearance";
import { connect, disconnect, heartbeat, liveState } from "./live";
import { discard as discardWaiting, refresh as refreshWaiting, startSyncing, sync as syncWaiting, waiting } from "./outbox";
import { signal, useSignal } from "./signal";
import { go, openPerson, route, type Route } from "./router";
import { account, loadAccount, signOutLocally } from "./session";
import { AuthScreen } from "./screens/auth";
import { ResetPasswordScreen, resetToken } from "./screens/reset";
import { CheckInScreen } from "./screens/checkin";
import { HistoryScreen } from "./screens/history";
import { InsightsScreen } from "./screens/insights";
import { PersonScreen } from "./screens/person";
import { FriendsScreen } from "./screens/friends";
import { HugsScreen, HugArrival } from "./screens/hugs";
import { SettingsScreen } from "./screens/settings";
import { BoardsScreen } from "./screens/boards";

const NAV: [Route, string, string][] = [
  ["/checkin", "Check in", "✏️"],
  ["/history", "History", "📈"],
  ["/insights", "Insights", "💡"],
  ["/friends", "Friends", "👥"],
  ["/hugs", "Hugs", "🤗"],
  ["/boards", "Boards", "🧩"],
  ["/settings", "Settings", "⚙️"],
];

const online = signal(navigator.onLine);
window.addEventListener("online", () => (online.value = true));
window.addEventListener("offline", () => (online.value = false));

function WaitingBanner() {
  const pending = useSignal(waiting);
  const isOnline = useSignal(online);
  const toSend = pending.filter((p) => p.problem === undefined).length;
  const refused = pending.filter((p) => p.problem !== undefined);
  if (isOnline && toSend === 0 && refused.length === 0) return null;
  return (
    <div class="banner" role="status" data-testid="waiting-banner">
      {!isOnline && <span>You're offline. Check-ins are kept on this device. </span>}
      {toSend > 0 && (
        <span>
          {toSend === 1 ? "1 check-in is" : `${toSend} check-ins are`} waiting to be sent
          {isOnline ? "…" : " when you're back online."}
        </span>
      )}
      {refused.map((p) => (
        <p key={p.id} class="refused">
          A check-in saved on this device ({String(p.input["moodType"] ?? "")}) could not be stored: {p.problem}{" "}
          <button type="button" onClick={() => void discardWaiting(p.id)}>
            Discard it
          </button>
        </p>
      ))}
    </div>
  );
}

function LiveDot() {
  const socket = useSignal(liveState);
  const state = useSignal(online) ? socket : "offline";
  const label = { live: "Live", connecting: "Connecting…", offline: "Offline" }[state];
  return (
    <span class={`live live-${state}`} title={label} data-testid="live-state">
      <span class="dot" aria-hidden="true" />
      {label}
    </span>
  );
}

function Shell() {
  const current = useSignal(route);
  const me = useSignal(account);
  useEffect(() => {
    heartbeat(current);
    const changed = () => heartbeat(route.value);
    document.addEventListener("visibilitychange", changed);
    const connected = liveState.subscribe((state) => state === "live" && heartbeat(route.value));
    return () => {
      document.removeEventListener("visibilitychange", changed);
      connected();
    };
  }, [current]);
  const screen = (() => {
    switch (current) {
      case "/history":
        return <HistoryScreen />;
      case "/insights":
        return <InsightsScreen />;
      case "/people":
        return <PersonScreen />;
      case "/friends":
        return <FriendsScreen />;
      case "/hugs":
        return <HugsScreen />;
      case "/boards":
        return <BoardsScreen />;
      case "/settings":
        return <SettingsScreen />;
      default:
        return <CheckInScreen />;
    }
  })();
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand" aria-label="HugMood">
          HugMood
        </span>
        {me && (
          <a
            class="whoami"
            href={`/people/${encodeURIComponent(me.handle)}`}
            aria-label={`Your page, @${me.handle}`}
            onClick={(event) => {
              event.preventDefault();
              openPerson(me.handle);
            }}
          >
            @{me.handle}
          </a>
        )}
        <LiveDot />
      </header>
      <nav class="tabs" aria-label="Screens">
        {NAV.map(([path, label, icon]) => (
          <a
            key={path}
            href={path}
            aria-current={current === path || (path === "/checkin" && current === "/") ? "page" : undefined}
            onClick={(event) => {
              event.preventDefault();
              go(path);
            }}
          >
            <span class="tab-icon" aria-hidden="true">
              {icon}
            </span>
            {label}
          </a>
        ))}
      </nav>
      <WaitingBanner />
      <HugArrival />
      <main id="main" tabIndex={-1}>
        {screen}
      </main>
    </>
  );
}

function App() {
  const me = useSignal(account);
  const [signedIn, setSignedIn] = useState(token() !== null);
  useEffect(() => {
    const ended = onSessionEnded(() => {
      signOutLocally("Your session has ended. Please log in again.");
      setSignedIn(false);
    });
    return ended;
  }, []);
  useEffect(() => {
    if (!signedIn) {
      disconnect();
      void refreshWaiting().catch(() => undefined);
      return;
    }
    // Check-ins left waiting by this person (on this browser) go out now.
    void syncWaiting().catch(() => undefined);
    connect();
    void loadAccount();
  }, [signedIn]);
  useEffect(() => account.subscribe((value) => setSignedIn(value !== null || token() !== null)), []);
  if (resetToken()) return <ResetPasswordScreen />;
  if (!signedIn) return <AuthScreen onSignedIn={() => setSignedIn(true)} />;
  if (me === null && token() === null) return null;
  return <Shell />;
}

applyAppearance();
startSyncing();
if ("serviceWorker" in navigator) {
  // Keeps the app itself for opening it offline (web/public/sw.js); the API is never cached.
  navigator.serviceWorker.register("/sw.js").catch(() => undefined);
}
render(<App />, document.getElementById("app") as HTMLElement);
