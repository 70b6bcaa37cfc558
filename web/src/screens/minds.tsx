// You and others, privately: similar minds (opt-in, off by default) and how people in your home
// region felt this week (only for enough people, with noise).

import { useEffect, useState } from "preact/hooks";
import { ApiError, describe, gql } from "../api";
import { isoWeek, signed } from "../insights";
import { QUADRANT_COLOUR, QUADRANT_LABEL } from "../model";
import { ErrorText, PersonLink } from "./common";

interface Minds {
  people: { handle: string; displayName: string }[];
  checkInsNeeded: number;
}

const MINDS = "query { similarMinds(limit: 5) { people { handle displayName } checkInsNeeded } }";

interface Helped {
  enoughPeople: boolean;
  minimumPeople: number;
  factors: string[];
  sentence: string;
  checkInsNeeded: number;
}

const HELPED = "query { similarMindsHelped { enoughPeople minimumPeople factors sentence checkInsNeeded } }";

/** What went with better days for most of the people nearest you: never who they are. */
function WhatHelped() {
  const [helped, setHelped] = useState<Helped | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    gql<{ similarMindsHelped: Helped }>(HELPED)
      .then((data) => setHelped(data.similarMindsHelped))
      .catch((e) => setError(describe(e)));
  }, []);
  if (error) return <ErrorText error={error} />;
  if (helped === null || helped.checkInsNeeded > 0) return null;
  return (
    <div class="card" data-testid={helped.enoughPeople ? "minds-helped" : "minds-helped-empty"}>
      <h3>What helped people like you</h3>
      <p class={helped.enoughPeople ? "" : "empty"}>{helped.sentence}</p>
      <p class="muted small">
        Worked out from the {helped.minimumPeople} discoverable people whose patterns are nearest yours, only once there are
        that many, and never saying who they are.
      </p>
    </div>
  );
}

function MindsList() {
  const [minds, setMinds] = useState<Minds | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    gql<{ similarMinds: Minds }>(MINDS)
      .then((data) => setMinds(data.similarMinds))
      .catch((e) => setError(describe(e)));
  }, []);
  if (error) return <ErrorText error={error} />;
  if (minds === null) return <p class="muted">Loading…</p>;
  if (minds.checkInsNeeded > 0)
    return (
      <p class="empty" data-testid="minds-empty">
        {minds.checkInsNeeded === 1 ? "1 more check-in" : `${minds.checkInsNeeded} more check-ins`} and you can be compared
        with others.
      </p>
    );
  if (minds.people.length === 0)
    return (
      <p class="empty" data-testid="minds-empty">
        Nobody to show yet: similar minds appear as more people turn this on.
      </p>
    );
  return (
    <ul class="people" data-testid="similar-minds">
      {minds.people.map((p) => (
        <li key={p.handle} class="person">
          <div>
            <strong>
              <PersonLink handle={p.handle}>{p.displayName}</PersonLink>
            </strong> <span class="muted">@{p.handle}</span>
          </div>
        </li>
      ))}
    </ul>
  );
}

export function SimilarMinds() {
  const [on, setOn] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => {
    gql<{ discoverable: boolean }>("query { discoverable }")
      .then((data) => setOn(data.discoverable))
      .catch((e) => setError(describe(e)));
  }, []);
  async function change(value: boolean) {
    setError(null);
    setMessage(null);
    try {
      const data = await gql<{ setDiscoverable: boolean }>("mutation($on: Boolean!) { setDiscoverable(discoverable: $on) }", { on: value });
      setOn(data.setDiscoverable);
      setMessage(data.setDiscoverable ? "You can now be suggested as a similar mind." : "You're no longer suggested to anyone.");
    } catch (e) {
      setError(describe(e));
    }
  }
  return (
    <section aria-labelledby="minds-title">
      <h2 id="minds-title">Similar minds</h2>
      <div class="card">
        <p class="small">
          People whose moods follow patterns like yours, among those who chose to be found. It's off until you turn it on.
        </p>
        <ul class="small minds-terms">
          <li>
            <strong>What is compared:</strong> how your check-ins spread over the mood words, their energy and pleasantness,
            how intense they are, and what went with your more pleasant days (weather, company, a few common tags). Never your
            notes.
          </li>
          <li>
            <strong>What others see:</strong> your handle and display name, nothing else: not your check-ins, not how similar
            you are.
          </li>
          <li>Nobody you blocked, or who blocked you, is ever shown you, or you them.</li>
        </ul>
        <label class="switch">
          <input type="checkbox" name="discoverable" checked={on === true} disabled={on === null} onChange={(e) => void change(e.currentTarget.checked)} />
          Suggest me as a similar mind, and show me mine
        </label>
        <ErrorText error={error} />
        {message && (
          <p class="success" role="status">
            {message}
          </p>
        )}
      </div>
      {on && <MindsList />}
      {on && <WhatHelped />}
    </section>
  );
}

interface Release {
  region: string;
  week: string;
  released: boolean;
  minimumPeople: number;
  people: number | null;
  meanEnergy: number | null;
  meanPleasantness: number | null;
  quadrants: { quadrant: string; share: number }[];
  epsilon: number;
  budgetSpent: number;
  budgetTotal: number;
}

const COMMUNITY = `query($region: String!, $week: String!) { communityMood(region: $region, week: $week) {
  region week released minimumPeople people meanEnergy meanPleasantness quadrants { quadrant share }
  epsilon budgetSpent budgetTotal } }`;

/** ε as a person can read it: at most two decimals. */
function budget(epsilon: number): string {
  return String(Math.round(epsilon * 100) / 100);
}

function Shares({ quadrants }: { quadrants: Release["quadrants"] }) {
  const total = quadrants.reduce((sum, q) => sum + Math.max(0, q.share), 0) || 1;
  const parts = quadrants.map((q) => ({ ...q, percent: Math.round((Math.max(0, q.share) / total) * 100) }));
  return (
    <>
      <div class="shares" aria-hidden="true">
        {parts.map((q) => (
          <span key={q.quadrant} style={{ width: `${q.percent}%`, background: QUADRANT_COLOUR[q.quadrant] ?? "#ccc" }} />
        ))}
      </div>
      <ul class="small shares-legend">
        {parts.map((q) => (
          <li key={q.quadrant}>
            <span class="swatch" style={{ background: QUADRANT_COLOUR[q.quadrant] ?? "#ccc" }} aria-hidden="true" />
            {QUADRANT_LABEL[q.quadrant] ?? q.quadrant}: {q.percent}%
          </li>
        ))}
      </ul>
    </>
  );
}

export function CommunityMood() {
  const [release, setRelease] = useState<Release | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    (async () => {
      const { me } = await gql<{ me: { homeRegion: string } }>("query { me { homeRegion } }");
      const data = await gql<{ communityMood: Release }>(COMMUNITY, { region: me.homeRegion, week: isoWeek() });
      setRelease(data.communityMood);
    })().catch((e: unknown) =>
      setError(
        e instanceof ApiError && e.code === "ANALYTICS_UNAVAILABLE"
          ? "How your region felt can't be shown by this server right now. Please try again later."
          : describe(e),
      ),
    );
  }, []);
  let content;
  if (error) content = <ErrorText error={error} />;
  else if (release === null) content = <p class="muted">Loading…</p>;
  else if (!release.released)
    content = (
      <p class="empty" data-testid="community-not-released">
        Not enough people yet: this week is shown once at least {release.minimumPeople} people from {release.region} have
        checked in.
      </p>
    );
  else
    content = (
      <div class="card" data-testid="community-mood">
        <p>
          About {Math.max(0, Math.round(release.people ?? 0))} people from {release.region} checked in this week ({release.week}).
          {release.meanPleasantness !== null && release.meanEnergy !== null && (
            <>
              {" "}
              On average, pleasantness {signed(release.meanPleasantness)} and energy {signed(release.meanEnergy)} on a scale of
              −1 to 1.
            </>
          )}
        </p>
        {release.quadrants.length > 0 && <Shares quadrants={release.quadrants} />}
        <p class="muted small">
          These figures carry random noise so that no one person can be picked out, and are shown only for at least{" "}
          {release.minimumPeople} people. This week's figures have used ε = {budget(release.budgetSpent)} of their privacy budget of{" "}
          {budget(release.budgetTotal)}.
        </p>
      </div>
    );
  return (
    <section aria-labelledby="community-title">
      <h2 id="community-title">How people in your region felt this week</h2>
      {content}
    </section>
  );
}
