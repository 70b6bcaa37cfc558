// Settings: the age check (proven on a device with zero knowledge; only the outcome is kept),
// sealed mode (opened only on the device) and the community averages this server releases.

import { useEffect, useState } from "preact/hooks";
import { ApiError, describe, NetworkError, token } from "../api";

type AgeStatus = {
  verifiedAge: number | null;
  required: number;
  trustedIssuers: string[];
  communityAverages: boolean;
};

type Release = {
  day: string;
  means: { intensity: number; energy: number; pleasantness: number };
  sums: { count: number };
};

async function privacyGet<T>(path: string): Promise<T> {
  const current = token();
  let response: Response;
  try {
    response = await fetch(path, { headers: current === null ? {} : { Authorization: `Bearer ${current}` } });
  } catch {
    throw new NetworkError();
  }
  const body = (await response.json()) as T & { errors?: { message?: string; extensions?: { code?: string } }[] };
  if (!response.ok) {
    const first = body.errors?.[0];
    throw new ApiError(first?.message ?? "HugMood could not answer.", first?.extensions?.code ?? "INTERNAL");
  }
  return body;
}

function percent(value: number): string {
  return `${Math.round(value * 100)}%`;
}

function CommunityAverages({ status }: { status: AgeStatus }) {
  const allowed = status.required === 0 || (status.verifiedAge ?? 0) >= status.required;
  const [releases, setReleases] = useState<Release[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!status.communityAverages || !allowed) return;
    privacyGet<{ releases: Release[] }>("/privacy/community/averages")
      .then((body) => setReleases(body.releases))
      .catch((e: unknown) => setError(describe(e)));
  }, [status.communityAverages, allowed]);

  let content;
  if (!status.communityAverages) content = <p class="muted">This server does not publish community averages.</p>;
  else if (!allowed)
    content = <p>Community averages need a verified age of {status.required} or over (see the age check above).</p>;
  else if (error !== null) content = <p class="error">{error}</p>;
  else if (releases === null) content = <p class="muted">Loading…</p>;
  else if (releases.length === 0)
    content = <p class="muted">No community averages yet: a day's average appears once at least 20 people have contributed.</p>;
  else
    content = (
      <ul>
        {releases.map((r) => (
          <li key={r.day}>
            {r.day}: intensity {percent(r.means.intensity)}, about {Math.max(0, Math.round(r.sums.count))} people
          </li>
        ))}
      </ul>
    );
  return (
    <section class="card" aria-label="Community averages">
      <h2>Community averages</h2>
      <p class="muted small">
        Devices that opt in send each day's check-in encrypted; a separate service opens only days with at least 20
        people, adds statistical noise and never shows one person's answer. To take part, run{" "}
        <code>hugmood community contribute</code> on your device: this page does not, because its code comes from the
        server, which must not be able to read your answer.
      </p>
      {content}
    </section>
  );
}

export function PrivacyCards() {
  const [status, setStatus] = useState<AgeStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    privacyGet<AgeStatus>("/privacy/age")
      .then(setStatus)
      .catch((e: unknown) => setError(describe(e)));
  }, []);

  if (error !== null)
    return (
      <section class="card" aria-label="Age check">
        <h2>Age check</h2>
        <p class="error">{error}</p>
      </section>
    );
  if (status === null) return null;
  const threshold = status.required || 18;
  return (
    <>
      <section class="card" aria-label="Age check">
        <h2>Age check</h2>
        <p role="status">
          {status.verifiedAge === null ? "No verified age yet." : `Verified: ${status.verifiedAge} or over.`}
        </p>
        <p>
          {status.required > 0
            ? `Public check-ins and community averages need a verified age of ${status.required} or over.`
            : "This server does not ask for an age check."}
        </p>
        <p class="muted small">
          Your birth date never leaves your device: it proves your age from an age credential with a zero-knowledge
          proof, and HugMood keeps only the outcome. A browser cannot hold the credential, so prove it on your device:
        </p>
        <pre>
          <code>hugmood verify-age --threshold {threshold}</code>
        </pre>
        {status.trustedIssuers.length > 0 && (
          <p class="muted small">Credentials accepted from: {status.trustedIssuers.join(", ")}.</p>
        )}
      </section>
      <section class="card" aria-label="Sealed mode">
        <h2>Sealed mode</h2>
        <p class="muted small">
          In sealed mode your device sends its scores encrypted with a key only it holds; the server adds them up
          without reading them, and only your device can open the totals. Turn it on there:
        </p>
        <pre>
          <code>hugmood sealed enable</code>
        </pre>
        <p class="muted small">This web app cannot open sealed check-ins (the key stays on your device).</p>
      </section>
      <CommunityAverages status={status} />
    </>
  );
}
