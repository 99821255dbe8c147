const KEY = "colmeia.dashboard.token";

/**
 * The submitter token, kept in this browser's localStorage so it is entered once. Storage can be
 * unavailable (private modes, blocked cookies): then the token simply lasts for this page view.
 */
export const tokenStore = {
  load(): string | undefined {
    try {
      return localStorage.getItem(KEY) || undefined;
    } catch {
      return undefined;
    }
  },
  save(token: string): void {
    try {
      localStorage.setItem(KEY, token);
    } catch {}
  },
  forget(): void {
    try {
      localStorage.removeItem(KEY);
    } catch {}
  },
};

/** What the page shows of a token: enough to tell two apart, never the whole secret. */
export function tokenHint(token: string): string {
  return token.length > 8 ? `…${token.slice(-4)}` : "…";
}
