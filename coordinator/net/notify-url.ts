/**
 * Where a completion webhook may be sent, checked at job creation and again before every delivery.
 *
 * The Workers runtime cannot resolve names itself (there is no DNS lookup API), so the check is on
 * the URL as written: https only, and never an IP literal (any form the URL parser normalises,
 * `http://2130706433/`, `0x7f.1`, `[::ffff:127.0.0.1]` included), `localhost`, a single-label
 * intranet name, or a name reserved for private networks. A trailing dot (`localhost.`) changes
 * nothing. Plain http, and any of those, only to a host the operator lists in `WEBHOOK_HTTP_HOSTS`
 * (which `npm start` pre-fills with 127.0.0.1 and localhost). A public name that resolves to a
 * private address is out of reach of this check; deployed, Cloudflare's edge does not route
 * Worker subrequests into private networks.
 */
export function notifyUrlProblem(raw: string, allowed: readonly string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "is not a URL";
  }
  if (url.username || url.password) return "must not carry credentials";
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must be an http(s) URL";
  const host = url.hostname.toLowerCase().replace(/\.+$/, "");
  if (allowed.includes(host)) return undefined;
  if (url.protocol !== "https:") return "must be https (plain http only to hosts in WEBHOOK_HTTP_HOSTS)";
  // The URL parser has already turned every IPv4 spelling (decimal, octal, hex, short) into dotted quads.
  if (host.startsWith("[") || /^\d+(\.\d+){3}$/.test(host)) return "must name a host, not an IP address";
  if (host === "localhost" || host.endsWith(".localhost")) return "must not be localhost";
  if (!host.includes(".")) return "must be a fully qualified public host name";
  if (/\.(internal|local|localdomain|lan|home\.arpa|intranet|corp|private)$/.test(host)) return "must not be a private network name";
  return undefined;
}

/**
 * The operator's allow-list from the `WEBHOOK_HTTP_HOSTS` binding (comma-separated host names),
 * each spelt as the URL parser spells a host (`::1` becomes `[::1]`, `LocalHost.` becomes `localhost`).
 */
export function webhookHttpHosts(setting: string | undefined): string[] {
  return (setting ?? "")
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean)
    .map((h) => {
      try {
        return new URL(`http://${h.includes(":") && !h.startsWith("[") ? `[${h}]` : h}/`).hostname.toLowerCase().replace(/\.+$/, "");
      } catch {
        return h.toLowerCase();
      }
    });
}
