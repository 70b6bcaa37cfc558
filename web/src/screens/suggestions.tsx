// People you may know: friends of your friends, most friends in common first, to ask in a tap.

import { useEffect, useState } from "preact/hooks";
import { describe, gql } from "../api";
import { PROFILE, type Profile } from "../model";
import { ErrorText, PersonLink } from "./common";

interface Suggestion {
  profile: Profile;
  mutualFriends: number;
}

const SUGGESTIONS = `query { peopleYouMayKnow(limit: 10) { profile { ${PROFILE} } mutualFriends } }`;

/** `version` changes whenever the friends lists do: someone just asked is no longer suggested. */
export function PeopleYouMayKnow({ version, onDone }: { version: number; onDone: (message: string) => void }) {
  const [people, setPeople] = useState<Suggestion[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    gql<{ peopleYouMayKnow: Suggestion[] }>(SUGGESTIONS)
      .then((data) => setPeople(data.peopleYouMayKnow))
      .catch((e) => setError(describe(e)));
  }, [version]);
  async function ask(handle: string) {
    setError(null);
    try {
      await gql("mutation($handle: String!) { requestFriendship(handle: $handle) { status } }", { handle });
      setPeople((list) => list?.filter((s) => s.profile.handle !== handle) ?? null);
      onDone(`Friend request sent to @${handle}.`);
    } catch (e) {
      setError(describe(e));
    }
  }
  if (people === null && error === null) return null;
  return (
    <section aria-labelledby="suggestions-title">
      <h2 id="suggestions-title">People you may know</h2>
      <ErrorText error={error} />
      {people !== null && people.length === 0 ? (
        <p class="muted small">Friends of your friends appear here, most friends in common first.</p>
      ) : (
        <ul class="people" data-testid="people-you-may-know">
          {(people ?? []).map((s) => (
            <li key={s.profile.handle} class="person" data-handle={s.profile.handle}>
              <div class="row spread">
                <div>
                  <strong>
                    <PersonLink handle={s.profile.handle}>{s.profile.displayName}</PersonLink>
                  </strong> <span class="muted">@{s.profile.handle}</span>
                  <br />
                  <span class="muted small">{s.mutualFriends === 1 ? "1 friend in common" : `${s.mutualFriends} friends in common`}</span>
                </div>
                <button type="button" class="primary" onClick={() => void ask(s.profile.handle)} aria-label={`Add friend @${s.profile.handle}`}>
                  Add friend
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
