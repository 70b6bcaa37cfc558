// Password reset by e-mail: asking for a link (the answer is the same whether or not the
// address is known), and the page the link opens (/reset-password#token=…), where a new
// password is chosen. The token travels in the fragment, so it is never sent in a request
// line or a Referer; it is taken off the address bar as soon as the page has read it.

import { useState } from "preact/hooks";
import { describe, gql } from "../api";
import { ErrorText } from "./common";

let kept: string | null = null;

/** The token of a reset link this page was opened with, if any. */
export function resetToken(): string | null {
  if (kept === null && location.pathname === "/reset-password") {
    kept = new URLSearchParams(location.hash.slice(1)).get("token") ?? "";
    history.replaceState(null, "", "/reset-password");
  }
  return kept || null;
}

export function ForgotPassword() {
  const [open, setOpen] = useState(false);
  const [email, setEmail] = useState("");
  const [answer, setAnswer] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (!open) {
    return (
      <p class="forgot">
        <button type="button" class="link" onClick={() => setOpen(true)}>
          Forgot your password?
        </button>
      </p>
    );
  }
  async function ask(event: Event) {
    event.preventDefault();
    setError(null);
    setAnswer(null);
    try {
      setAnswer((await gql<{ requestPasswordReset: string }>("mutation($email: String!) { requestPasswordReset(email: $email) }", { email })).requestPasswordReset);
    } catch (e) {
      setError(describe(e));
    }
  }
  return (
    <form class="card" aria-label="Reset password" onSubmit={ask}>
      <p class="muted small">If you confirmed an e-mail address in Settings, a link to choose a new password can be sent to it.</p>
      <label>
        E-mail address
        <input type="email" name="resetEmail" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      </label>
      <ErrorText error={error} />
      {answer && <p class="success" role="status">{answer}</p>}
      <button type="submit">Send me a link</button>
    </form>
  );
}

export function ResetPasswordScreen() {
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  async function reset(event: Event) {
    event.preventDefault();
    setError(null);
    if (password.length < 10) {
      setError("Your new password needs at least 10 characters.");
      return;
    }
    try {
      await gql("mutation($token: String!, $password: String!) { resetPassword(token: $token, newPassword: $password) }", {
        token: resetToken(),
        password,
      });
      setDone(true);
    } catch (e) {
      setError(describe(e));
    }
  }
  return (
    <main id="main" class="auth">
      <h1 class="brand-big">HugMood</h1>
      {done ? (
        <div class="card">
          <p class="success" role="status">
            Your password is changed, and every device was logged out. Log in with the new one.
          </p>
          <a href="/">Log in</a>
        </div>
      ) : (
        <form class="card" aria-label="Choose a new password" onSubmit={reset}>
          <label>
            New password
            <input type="password" name="newPassword" autoComplete="new-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            <small>At least 10 characters. Every device signed in to your account will be logged out.</small>
          </label>
          <ErrorText error={error} />
          <button class="primary" type="submit">
            Set new password
          </button>
        </form>
      )}
    </main>
  );
}
