/** The volunteer's controls, as read from and written to the settings panel. */
export interface ControlValues {
  threads: number;
  /** Duty cycle in (0, 1]. */
  dutyCycle: number;
  onlyVisible: boolean;
}

/** What happens when the volunteer touches a control. */
export interface ControlHandlers {
  toggle(): void;
  change(values: ControlValues): void;
}

/**
 * Binds the start/pause button, threads slider, CPU throttle slider and the "only while
 * visible" checkbox of index.html; all are native form controls, so keyboard use and labels
 * come for free.
 */
export function bindControls(initial: ControlValues, maxThreads: number, handlers: ControlHandlers) {
  const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  const toggle = byId<HTMLButtonElement>("toggle");
  const threads = byId<HTMLInputElement>("threads");
  const threadsOut = byId<HTMLOutputElement>("threads-out");
  const throttle = byId<HTMLInputElement>("throttle");
  const throttleOut = byId<HTMLOutputElement>("throttle-out");
  const onlyVisible = byId<HTMLInputElement>("only-visible");
  byId("cores").textContent = String(navigator.hardwareConcurrency || "?");

  threads.max = String(Math.max(maxThreads, initial.threads));
  const read = (): ControlValues => ({
    threads: Number(threads.value),
    dutyCycle: Number(throttle.value) / 100,
    onlyVisible: onlyVisible.checked,
  });
  const show = () => {
    threadsOut.value = threads.value;
    throttleOut.value = `${throttle.value} %`;
    throttle.setAttribute("aria-valuetext", `${throttle.value} percent`);
  };
  const set = (values: ControlValues) => {
    threads.value = String(values.threads);
    throttle.value = String(Math.round(values.dutyCycle * 100));
    onlyVisible.checked = values.onlyVisible;
    show();
  };
  set(initial);

  toggle.addEventListener("click", () => handlers.toggle());
  for (const input of [threads, throttle]) input.addEventListener("input", show);
  for (const input of [threads, throttle, onlyVisible]) input.addEventListener("change", () => handlers.change(read()));
  return { set, read };
}
