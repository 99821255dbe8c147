/**
 * Where a completion webhook may be sent. The Workers runtime cannot resolve names itself, so the
 * check is on the URL as written: https only, and never an IP literal (any form the URL parser
 * normalises, `http://2130706433/` included), `localhost`, a single-label intranet name, or a
 * name reserved for private networks. Plain http, and any of those, only to a host the operator
 * lists in `WEBHOOK_HTTP_HOSTS` (which `npm start` pre-fills with 127.0.0.1 and localhost).
 */
export function notifyUrlProblem(raw: string, allowed: readonly string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "is not a URL";
  }
  const host = url.hostname.toLowerCase();
  if (url.username || url.password) return "must not carry credentials";
  if (allowed.includes(host)) return url.protocol === "https:" || url.protocol === "http:" ? undefined : "must be an http(s) URL";
  if (url.protocol !== "https:") return `must be https (plain http only to hosts in WEBHOOK_HTTP_HOSTS)`;
  if (host.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return "must name a host, not an IP address";
  if (host === "localhost" || host.endsWith(".localhost")) return "must not be localhost";
  if (!host.includes(".")) return "must be a fully qualified public host name";
  if (/\.(internal|local|lan|home\.arpa|intranet|corp)$/.test(host)) return "must not be a private network name";
  return undefined;
}

/** The operator's allow-list from the `WEBHOOK_HTTP_HOSTS` binding (comma-separated host names). */
export function webhookHttpHosts(setting: string | undefined): string[] {
  return (setting ?? "").split(",").map((h) => h.trim().toLowerCase()).filter(Boolean);
}
