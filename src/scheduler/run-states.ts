// The states of a run's task instances during one evaluation, by task and map index. An unmapped
// task has one instance (map_index -1); a mapped task has one per element (0..n-1).
export interface InstanceState {
  task_id: string;
  map_index: number;
  state: string | null;
}

export class RunStates {
  private readonly byTask = new Map<string, Map<number, string | null>>();

  constructor(rows: Iterable<InstanceState>) {
    for (const r of rows) this.set(r.task_id, r.map_index, r.state);
  }

  get(taskId: string, mapIndex: number): string | null {
    return this.byTask.get(taskId)?.get(mapIndex) ?? null;
  }

  set(taskId: string, mapIndex: number, state: string | null): void {
    let m = this.byTask.get(taskId);
    if (!m) this.byTask.set(taskId, (m = new Map()));
    m.set(mapIndex, state);
  }

  /** A task's instances were re-made (expanded): its states are these. */
  replaceTask(taskId: string, rows: readonly { map_index: number; state: string | null }[]): void {
    this.byTask.set(taskId, new Map(rows.map((r) => [r.map_index, r.state])));
  }

  /** The task's only state when it is unmapped (a branch's finished check). */
  single(taskId: string): string | null {
    const m = this.byTask.get(taskId);
    if (!m || m.size !== 1) return m?.get(-1) ?? null;
    return m.values().next().value ?? null;
  }

  /**
   * The states of every instance of these tasks, as a trigger rule counts them (Airflow counts each
   * mapped instance as one upstream). A task with no instance counts as one not yet run.
   * `dropRemoved`: leave `removed` instances out, for an unmapped downstream (a reduce): Airflow
   * counts them as non-successes there and the run deadlocks after a shorter re-expansion.
   */
  upstream(ids: readonly string[], dropRemoved: boolean): (string | null)[] {
    const out: (string | null)[] = [];
    for (const id of ids) {
      const m = this.byTask.get(id);
      if (!m) {
        out.push(null);
        continue;
      }
      for (const s of m.values()) if (!(dropRemoved && s === "removed")) out.push(s);
    }
    return out;
  }

  all(): (string | null)[] {
    const out: (string | null)[] = [];
    for (const m of this.byTask.values()) for (const s of m.values()) out.push(s);
    return out;
  }
}
