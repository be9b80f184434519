/**
 * Console output of long runs: a progress bar with ETA on a terminal, plain lines otherwise.
 * @module
 */

/** Where output goes (stdout by default). */
export interface Sink {
  /** Writes text as is. */
  write(text: string): void;
  /** Whether the sink is an interactive terminal. */
  isTerminal: boolean;
}

const enc = new TextEncoder();

/** Standard output as a {@linkcode Sink}. */
export function stdoutSink(): Sink {
  return {
    write: (t) => Deno.stdout.writeSync(enc.encode(t)),
    isTerminal: Deno.stdout.isTerminal(),
  };
}

/** Formats seconds as `1h02m`, `3m04s` or `12.3s`. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  }
  if (s >= 60) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${s.toFixed(1)}s`;
}

/**
 * Progress over `total` units: on a terminal a single redrawn bar with rate and ETA; otherwise
 * nothing but the lines given to {@linkcode Progress.line}.
 */
export class Progress {
  private start = performance.now();
  private done = 0;
  private drawn = false;

  /**
   * @param label what is counted (e.g. "train")
   * @param total units to do
   * @param sink output
   * @param startAt units already done before this run (resumed runs)
   */
  constructor(
    private label: string,
    private total: number,
    private sink: Sink,
    private startAt = 0,
  ) {
    this.done = startAt;
  }

  /** Marks `n` as done and redraws the bar (terminal only). */
  update(n: number, note = ""): void {
    this.done = n;
    if (!this.sink.isTerminal) return;
    const width = 28;
    const frac = this.total ? Math.min(this.done / this.total, 1) : 1;
    const fill = Math.round(frac * width);
    const secs = (performance.now() - this.start) / 1000;
    const rate = (this.done - this.startAt) / Math.max(secs, 1e-9);
    const eta = rate > 0 ? (this.total - this.done) / rate : Infinity;
    const bar = "█".repeat(fill) + "░".repeat(width - fill);
    this.sink.write(
      `\r\x1b[2K${this.label} ${bar} ${this.done}/${this.total} ` +
        `${formatDuration(secs)} elapsed, ETA ${formatDuration(eta)}${note ? "  " + note : ""}`,
    );
    this.drawn = true;
  }

  /** Prints a line above the bar. */
  line(text: string): void {
    if (this.drawn) this.sink.write("\r\x1b[2K");
    this.sink.write(text + "\n");
    if (this.drawn) this.update(this.done);
  }

  /** Ends the bar. */
  finish(): void {
    if (this.drawn) this.sink.write("\n");
    this.drawn = false;
  }

  /** Seconds since the start. */
  get elapsed(): number {
    return (performance.now() - this.start) / 1000;
  }
}
