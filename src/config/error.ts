/**
 * The error of an unusable configuration.
 * @module
 */

/** A configuration that cannot be used; `problems` lists each one (also joined in `message`). */
export class ConfigError extends Error {
  /** Each problem on its own, every one naming the file and the key. */
  readonly problems: string[];
  /** Builds the error from its list of problems. */
  constructor(problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
    this.problems = problems;
  }
}
