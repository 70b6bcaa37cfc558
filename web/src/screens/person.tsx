// One person's page (`/people/<handle>`), from `profileOverview`: their profile, the last 30
// days you may see, how you are connected, boards you share, what they are doing; on your own
// page also your insights, similar minds and people you may know. A part that could not be
// loaded this time is said, and the rest still shows.

import { useEffect, useRef, useState } from "preact/hooks";
import { describe, gql } from "../api";
import { INSIGHT, type Insight } from "../insights";
import { ENTRY, PROFILE, type MoodEntry, type MoodSeries, type PresenceStatus, type Profile, type Relationship } from "../model";
import { go, personShown } from "../router";
import { account } from "../session";
import { useSignal } from "../signal";
import { Empty, ErrorText, PersonLink, PresenceDot } from "./common";
import { useVocabulary } from "./checkin";
import { MoodCard } from "./entries";
import { Actions } from "./friends";
import "./person.css";

const SERIES_DAYS = 30;

interface Overview {
  profile: Profile & { memberSince: string };
  moodSeries: { series: MoodSeries } | null;
  connections: {
    relationship: Relationship;
    friendCount: number;
    mutualFriends: number;
    peopleYouMayKnow: { profile: Profile; mutualFriends: number }[];
  } | null;
  sharedBoards: { id: string; title: string }[] | null;
  activity: { presence: string | null; recentMoods: MoodEntry[] } | null;
  insights: Insight[] | null;
  similarMinds: string[] | null;
  unavailable: string[];
}

const OVERVIEW = `query($handle: String) { profileOverview(handle: $handle) {
  profile { ${PROFILE} memberSince }
  moodSeries { series { starts counts meanIntensities dominantMoods meanEnergies meanPleasantness } }
  connections { relationship friendCount mutualFriends peopleYouMayKnow { profile { ${PROFILE} } mutualFriends } }
  sharedBoards { id title }
  activity { presence recentMoods { ${ENTRY} } }
  insights { ${INSIGHT} }
  similarMinds
  unavailable
} }`;

const PART_NAMES: Record<string, string> = {
  moodSeries: "the last 30 days",
  connections: "connections",
  sharedBoards: "shared boards",
  activity: "recent activity",
  insights: "insights",
  similarMinds: "similar minds",
};

const PRESENCE: Record<string, PresenceStatus> = { online: "ONLINE", away: "AWAY", offline: "OFFLINE" };

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

function SeriesChart({ series, name }: { series: MoodSeries; name: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let destroyed = false;
    let dispose = () => undefined as void;
    void import("../chart").then(({ drawMoodChart }) => {
      if (destroyed || !box.current) return;
      const to = new Date();
      const from = new Date(to.getTime() - SERIES_DAYS * 86_400_000);
      dispose = drawMoodChart(box.current, series, "DAY", [from, to]);
    });
    return () => {
      destroyed = true;
      dispose();
    };
  }, [series]);
  const days = series.starts.length;
  return (
    <div
      class="chart"
      ref={box}
      role="img"
      aria-label={`Chart of ${name}'s pleasantness and energy per day, from low (−100) to high (+100): ${plural(days, "day", "days")} with check-ins you may see.`}
      data-testid="person-chart"
    />
  );
}

function OwnParts({ overview }: { overview: Overview }) {
  const suggestions = overview.connections?.peopleYouMayKnow ?? [];
  return (
    <>
      {overview.insights !== null && (
        <section aria-labelledby="person-insights-title">
          <h2 id="person-insights-title">What your check-ins say</h2>
          {overview.insights.length === 0 ? (
            <Empty>Nothing yet: a factor needs 3 days with it and 3 without, patterns a few weeks, a trend four weeks.</Empty>
          ) : (
            <ul class="person-insights">
              {overview.insights.slice(0, 3).map((i) => (
                <li key={i.id}>{i.sentence}</li>
              ))}
            </ul>
          )}
          <button type="button" onClick={() => go("/insights")}>
            All insights
          </button>
        </section>
      )}
      <section aria-labelledby="person-minds-title">
        <h2 id="person-minds-title">Similar minds</h2>
        {overview.similarMinds === null ? (
          <p class="muted small">Off. Turn on similar minds on the Insights screen to see people whose moods follow patterns like yours.</p>
        ) : overview.similarMinds.length === 0 ? (
          <p class="muted small">Nobody to show yet.</p>
        ) : (
          <ul class="person-links">
            {overview.similarMinds.map((handle) => (
              <li key={handle}>
                <PersonLink handle={handle}>@{handle}</PersonLink>
              </li>
            ))}
          </ul>
        )}
      </section>
      {suggestions.length > 0 && (
        <section aria-labelledby="person-pymk-title">
          <h2 id="person-pymk-title">People you may know</h2>
          <ul class="person-links">
            {suggestions.map((s) => (
              <li key={s.profile.handle}>
                <PersonLink handle={s.profile.handle}>{s.profile.displayName}</PersonLink>{" "}
                <span class="muted small">({plural(s.mutualFriends, "friend", "friends")} in common)</span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}

export function PersonScreen() {
  const handle = useSignal(personShown);
  const me = useSignal(account);
  const words = useVocabulary();
  const [overview, setOverview] = useState<Overview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    setError(null);
    gql<{ profileOverview: Overview }>(OVERVIEW, { handle })
      .then((data) => setOverview(data.profileOverview))
      .catch((e) => {
        setOverview(null);
        setError(describe(e));
      });
  }, [handle, version]);
  useEffect(() => {
    setMessage(null);
    setOverview(null);
  }, [handle]);

  if (error) {
    return (
      <>
        <h1>@{handle ?? me?.handle ?? ""}</h1>
        <ErrorText error={error} />
      </>
    );
  }
  if (overview === null) return <p class="muted">Loading…</p>;
  const { profile, connections, activity } = overview;
  const mine = connections?.relationship === "SELF" || profile.handle === me?.handle;
  const presence = activity?.presence ? PRESENCE[activity.presence] : undefined;
  const since = new Date(profile.memberSince).toLocaleDateString(undefined, { month: "long", year: "numeric" });
  const boards = overview.sharedBoards ?? [];
  const missing = overview.unavailable.map((part) => PART_NAMES[part] ?? part);
  return (
    <>
      <h1>{profile.displayName}</h1>
      <div class="person-head">
        <p>
          <span class="muted">@{profile.handle}</span>
          {presence && <PresenceDot status={presence} />}
        </p>
        {profile.bio && <p>{profile.bio}</p>}
        <p class="muted small" data-testid="person-facts">
          {[
            `Member since ${since}`,
            connections && plural(connections.friendCount, "friend", "friends"),
            connections && !mine && `${connections.mutualFriends} in common with you`,
          ]
            .filter(Boolean)
            .join(" · ")}
        </p>
        {message && (
          <p class="success" role="status">
            {message}
          </p>
        )}
        {connections && !mine && (
          <Actions
            handle={profile.handle}
            relationship={connections.relationship}
            onDone={(text) => {
              setMessage(text);
              setVersion((v) => v + 1);
            }}
          />
        )}
      </div>
      {missing.length > 0 && (
        <p class="notice" data-testid="person-unavailable">
          Some of this page could not be loaded just now ({missing.join(", ")}). The rest is below; try again in a moment.
        </p>
      )}
      {overview.moodSeries && (
        <section aria-labelledby="person-series-title">
          <h2 id="person-series-title">The last 30 days</h2>
          {overview.moodSeries.series.starts.length === 0 ? (
            <Empty>{mine ? "No check-ins in the last 30 days." : `No check-ins of ${profile.displayName}'s you may see in the last 30 days.`}</Empty>
          ) : (
            <SeriesChart series={overview.moodSeries.series} name={mine ? "your" : profile.displayName} />
          )}
        </section>
      )}
      {activity && (
        <section aria-labelledby="person-recent-title">
          <h2 id="person-recent-title">Recent check-ins</h2>
          {activity.recentMoods.length === 0 ? (
            <Empty>{mine ? "You haven't checked in yet." : `${profile.displayName} hasn't shared any check-ins with you.`}</Empty>
          ) : (
            <ul class="entries">
              {activity.recentMoods.map((entry) => (
                <MoodCard key={entry.id} entry={entry} words={words} />
              ))}
            </ul>
          )}
        </section>
      )}
      {boards.length > 0 && (
        <section aria-labelledby="person-boards-title">
          <h2 id="person-boards-title">{mine ? "Your boards" : "Boards you're both on"}</h2>
          <ul class="person-links">
            {boards.map((b) => (
              <li key={b.id}>
                <a
                  href={`/boards?board=${encodeURIComponent(b.id)}`}
                  onClick={(event) => {
                    event.preventDefault();
                    go("/boards", `?board=${encodeURIComponent(b.id)}`);
                  }}
                >
                  {b.title}
                </a>
              </li>
            ))}
          </ul>
        </section>
      )}
      {mine && <OwnParts overview={overview} />}
    </>
  );
}
