import type { VolunteerStatus } from "../volunteer/types.ts";

/** Everything the status panel shows. */
export interface PageSnapshot {
  status: VolunteerStatus;
  /** The volunteer asked to contribute (pressed start, or `?autostart=1`). */
  wanted: boolean;
  /** Paused only because the tab is hidden and "only while visible" is on. */
  hiddenPause: boolean;
  shardsThisVisit: number;
  shardsAllTime: number;
  ratePerSecond: number;
  credit: number;
  volunteerId?: string;
  now: number;
}

const el = (id: string) => {
  const found = document.getElementById(id);
  if (!found) throw new Error(`index.html lacks #${id}`);
  return found;
};
const setText = (node: HTMLElement, text: string) => {
  if (node.textContent !== text) node.textContent = text;
};
const seconds = (ms: number) => `${Math.max(1, Math.ceil(ms / 1000))} s`;
const whole = new Intl.NumberFormat();
const oneDecimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** What the headline says the volunteer is doing. */
export function describeActivity(s: PageSnapshot): string {
  const { status } = s;
  if (s.hiddenPause) return "Paused while this tab is hidden";
  if (status.state === "paused") return status.running.length ? "Pausing: finishing current shards…" : "Paused";
  if (status.state !== "running") return "Not started";
  if (status.running.length) return `Computing ${status.running.length} shard${status.running.length > 1 ? "s" : ""}`;
  if (status.waitingForWork && status.retryAt) return `Waiting for work: next check in ${seconds(status.retryAt - s.now)}`;
  if (status.waitingForWork) return "Waiting for work: it will be sent as soon as there is some";
  return "Looking for work…";
}

/** What the connection line says. */
export function describeConnection(status: VolunteerStatus, now: number): string {
  if (status.connection === "online") return "Connected";
  if (status.connection === "offline") {
    return status.retryAt ? `Coordinator unreachable: retrying in ${seconds(status.retryAt - now)}` : "Coordinator unreachable";
  }
  return "Connecting…";
}

/** Binds the status elements of index.html; `render` updates only what changed. */
export function createView() {
  const nodes = {
    state: el("state"),
    toggle: el("toggle") as HTMLButtonElement,
    connection: el("connection"),
    job: el("job"),
    visit: el("shards-visit"),
    total: el("shards-total"),
    rate: el("rate"),
    credit: el("credit"),
    pending: el("pending"),
    volunteer: el("volunteer-id"),
  };
  return {
    render(s: PageSnapshot) {
      const { status } = s;
      setText(nodes.state, describeActivity(s));
      document.body.dataset.state = s.hiddenPause ? "hidden" : status.state;
      setText(nodes.toggle, s.wanted ? "Pause" : status.computed || s.shardsAllTime ? "Resume" : "Start contributing");
      // The label says what a press does; a changing label rules out aria-pressed.
      nodes.toggle.dataset.running = String(s.wanted);
      const idle = status.connection === "connecting" && !s.wanted && status.pending === 0;
      setText(nodes.connection, idle ? "Not connected yet" : describeConnection(status, s.now));
      nodes.connection.dataset.connection = status.connection;
      const jobs = [...new Set(status.running.map((h) => `${h.lease.kernel} · job ${h.lease.jobId}`))];
      setText(nodes.job, jobs.length ? jobs.join(", ") : "—");
      setText(nodes.visit, whole.format(s.shardsThisVisit));
      setText(nodes.total, whole.format(s.shardsAllTime));
      setText(nodes.rate, oneDecimal.format(s.ratePerSecond));
      setText(nodes.credit, whole.format(s.credit));
      setText(nodes.pending, whole.format(status.pending));
      setText(nodes.volunteer, s.volunteerId ?? "not registered yet");
    },
  };
}

/** Keeps the last few problems visible in the (polite, live) problems list. */
export function createProblemLog(limit = 5) {
  const list = el("errors");
  const empty = el("errors-empty");
  let count = 0;
  return {
    add(message: string, at = new Date()) {
      const item = document.createElement("li");
      const time = document.createElement("time");
      time.dateTime = at.toISOString();
      time.textContent = at.toLocaleTimeString();
      item.appendChild(time);
      item.appendChild(document.createTextNode(` ${message}`));
      list.insertBefore(item, list.firstChild);
      while (list.children.length > limit) list.lastElementChild?.remove();
      empty.hidden = true;
      list.dataset.count = String(++count);
    },
  };
}
