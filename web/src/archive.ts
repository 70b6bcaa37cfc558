// The complete archive the server keeps about you (`GET /me/export`, docs/export-format.md),
// downloaded with the session token: a link cannot send it, so the app fetches and saves.

import { ApiError, NetworkError, token } from "./api";

/** Fetch the archive (`json`: everything; `csv`: check-ins) and save it as a file. */
export async function downloadArchive(format: "json" | "csv"): Promise<void> {
  const current = token();
  let response: Response;
  try {
    response = await fetch(`/me/export?format=${format}`, {
      headers: current === null ? {} : { Authorization: `Bearer ${current}` },
      cache: "no-store",
    });
  } catch {
    throw new NetworkError();
  }
  if (!response.ok) {
    let message = "The archive could not be prepared; please try again.";
    let code = "UNAVAILABLE";
    try {
      const body = (await response.json()) as { errors?: { message?: string; extensions?: { code?: string } }[] };
      message = body.errors?.[0]?.message ?? message;
      code = body.errors?.[0]?.extensions?.code ?? code;
    } catch {
      // Not JSON (a proxy's page): the plain sentence serves.
    }
    throw new ApiError(message.charAt(0).toUpperCase() + message.slice(1), code);
  }
  // The browser keeps the body as a Blob (on disk when large) until the link has been used.
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = `hugmood-archive-${new Date().toISOString().slice(0, 10)}.${format}`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
