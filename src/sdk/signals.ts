// Exceptions a task throws to end its try in a given state, as Airflow's. Recognised by a
// registered symbol, so a DAG that bundled its own SDK copy still matches.

const SKIP = Symbol.for("orch.signal.skip");
const FAIL = Symbol.for("orch.signal.fail");

/** Ends the try as `skipped`: `throw new AirflowSkipException("no new data")`. */
export class AirflowSkipException extends Error {
  readonly [SKIP] = true;
  constructor(message = "") {
    super(message);
    this.name = "AirflowSkipException";
  }
}

/** Fails the task at once, without using its remaining retries. */
export class AirflowFailException extends Error {
  readonly [FAIL] = true;
  constructor(message = "") {
    super(message);
    this.name = "AirflowFailException";
  }
}

export function isSkipSignal(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[SKIP] === true;
}

export function isFailSignal(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[FAIL] === true;
}
