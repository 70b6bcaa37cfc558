// Something to do when it's hard: a minute of slow breathing, the 5-4-3-2-1 grounding
// exercise, and where to find a helpline. Loaded only when offered or asked for.

import { useEffect, useState } from "preact/hooks";
import { gql } from "../api";

/** A directory of free, confidential helplines in many countries (until the server says). */
export const HELPLINES = "https://findahelpline.com/";

/** The operator's helpline page for this browser's country (`crisisResource`). */
function useHelplines(): string {
  const [url, setUrl] = useState(HELPLINES);
  useEffect(() => {
    let country: string | null = null;
    try {
      country = new Intl.Locale(navigator.language).maximize().region ?? null;
    } catch {
      country = null;
    }
    gql<{ crisisResource: string }>("query($c: String) { crisisResource(country: $c) }", { c: country })
      .then((data) => setUrl(data.crisisResource))
      .catch(() => undefined);
  }, []);
  return url;
}

const PHASES: [string, number][] = [
  ["Breathe in…", 4],
  ["Hold…", 4],
  ["Breathe out, slowly…", 6],
];
const ROUNDS = 5;

function Breathing({ onDone }: { onDone: () => void }) {
  const [step, setStep] = useState(0);
  const phase = PHASES[step % PHASES.length] ?? PHASES[0];
  const round = Math.floor(step / PHASES.length) + 1;
  const finished = round > ROUNDS;
  useEffect(() => {
    if (finished) return;
    const timer = setTimeout(() => setStep((s) => s + 1), (phase?.[1] ?? 4) * 1000);
    return () => clearTimeout(timer);
  }, [step, finished]);
  const [words, seconds] = phase ?? ["", 4];
  const kind = step % PHASES.length === 0 ? "in" : step % PHASES.length === 1 ? "hold" : "out";
  return (
    <div class="calm-exercise" data-testid="breathing">
      {finished ? (
        <p class="calm-say" role="status">Well done. Notice how you feel now.</p>
      ) : (
        <>
          <div class={`breath breath-${kind}`} style={{ animationDuration: `${seconds}s` }} aria-hidden="true" />
          <p class="calm-say" role="status" aria-live="polite">
            {words}
          </p>
          <p class="muted small">
            Round {round} of {ROUNDS}
          </p>
        </>
      )}
      <button type="button" onClick={onDone}>
        {finished ? "Close" : "I'm done"}
      </button>
    </div>
  );
}

const SENSES = [
  "Name 5 things you can see.",
  "Notice 4 things you can touch.",
  "Listen for 3 things you can hear.",
  "Find 2 things you can smell.",
  "Name 1 thing you can taste.",
];

function Grounding({ onDone }: { onDone: () => void }) {
  const [step, setStep] = useState(0);
  const finished = step >= SENSES.length;
  return (
    <div class="calm-exercise" data-testid="grounding">
      <p class="calm-say" role="status" aria-live="polite">
        {finished ? "You're here, now. Take your time." : SENSES[step]}
      </p>
      {!finished && <p class="muted small">Step {step + 1} of {SENSES.length}, at your own pace.</p>}
      <div class="row">
        {!finished && (
          <button type="button" class="primary" onClick={() => setStep(step + 1)}>
            Next
          </button>
        )}
        <button type="button" onClick={onDone}>
          {finished ? "Close" : "I'm done"}
        </button>
      </div>
    </div>
  );
}

/** Offered gently (after a very low check-in, or when asked): exercises and a helpline. */
export function WhenItsHard({ gentle, onClose }: { gentle: boolean; onClose: () => void }) {
  const [doing, setDoing] = useState<"breathing" | "grounding" | null>(null);
  const helplines = useHelplines();
  return (
    <section class="card calm" aria-labelledby="calm-title" data-testid="when-its-hard">
      <h2 id="calm-title">{gentle ? "That sounds hard. Would one of these help?" : "Something to do when it's hard"}</h2>
      {doing === "breathing" ? (
        <Breathing onDone={() => setDoing(null)} />
      ) : doing === "grounding" ? (
        <Grounding onDone={() => setDoing(null)} />
      ) : (
        <div class="row wrap">
          <button type="button" class="primary" onClick={() => setDoing("breathing")}>
            Breathe with me (1 minute)
          </button>
          <button type="button" onClick={() => setDoing("grounding")}>
            Try grounding (5-4-3-2-1)
          </button>
          <button type="button" onClick={onClose}>
            Not now
          </button>
        </div>
      )}
      <p class="small">
        If you are in danger or thinking of harming yourself, please reach out now: a free, confidential helpline near you
        is listed at{" "}
        <a href={helplines} target="_blank" rel="noopener noreferrer" data-testid="helplines">
          {new URL(helplines).hostname.replace(/^www\./, "")}
        </a>
        , or call your local emergency number.
      </p>
    </section>
  );
}
