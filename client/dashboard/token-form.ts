import { ColmeiaError } from "../api/errors.ts";
import type { JobStatusAnswer } from "../api/responses.ts";
import { el, setText } from "./dom.ts";
import { listJobs } from "./jobs-feed.ts";
import { tokenHint } from "./token-store.ts";

/**
 * The "Submitter token" form and the "Forget token" control. A token is accepted only once the
 * coordinator lists its jobs, so a typo is reported here rather than as an empty dashboard.
 */
export function createTokenForm(handlers: { onAccepted(token: string, jobs: JobStatusAnswer[]): void; onForget(): void }) {
  const form = el<HTMLFormElement>("token-form");
  const input = el<HTMLInputElement>("token");
  const error = el("token-error");
  const submit = form.querySelector<HTMLButtonElement>("button[type=submit]")!;
  const signedIn = el("signed-in");
  const hint = el("token-hint");
  const forget = el<HTMLButtonElement>("forget");

  const fail = (message: string) => {
    setText(error, message);
    input.setAttribute("aria-invalid", "true");
    input.focus();
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) return fail("Enter your submitter token.");
    submit.disabled = true;
    setText(error, "");
    try {
      const jobs = await listJobs(token);
      input.value = "";
      input.removeAttribute("aria-invalid");
      handlers.onAccepted(token, jobs);
    } catch (e) {
      if (e instanceof ColmeiaError && e.status === 401) fail("This coordinator does not know that token. Check it and try again.");
      else fail(`Could not check the token: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      submit.disabled = false;
    }
  });
  forget.addEventListener("click", () => handlers.onForget());

  return {
    /** Shows the signed-in bar (token known) or the form (no token; `message` says why). */
    show(token: string | undefined, message = ""): void {
      form.hidden = token !== undefined;
      signedIn.hidden = token === undefined;
      setText(hint, token ? tokenHint(token) : "");
      setText(error, message);
      if (message) input.setAttribute("aria-invalid", "true");
    },
    focus(): void {
      input.focus();
    },
  };
}
