// The states of a run's task instances during one evaluation, by task and map index. An unmapped
// task has one instance (map_index -1); a mapped task has one per element (0..n-1).
export interface InstanceState {
  task_id: string;
  map_index: number;
  state: string | null;
}

/** Which upstreams share the candidate's mapped task group, and the candidate's map index. */
export interface PerIndex {
  mapIndex: number;
  sameGroup(taskId: string): boolean;
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
  upstream(ids: readonly string[], dropRemoved: boolean, perIndex?: PerIndex): (string | null)[] {
    const out: (string | null)[] = [];
    for (const id of ids) {
      const m = this.byTask.get(id);
      if (!m) {
        out.push(null);
        continue;
      }
      if (perIndex?.sameGroup(id)) {
        out.push(...this.relevant(id, perIndex.mapIndex));
        continue;
      }
      for (const s of m.values()) if (!(dropRemoved && s === "removed")) out.push(s);
    }
    return out;
  }

  /**
   * The states of the instances of `taskId` (an upstream in the same mapped task group) that
   * instance `mapIndex` depends on: Airflow's _iter_upstream_conditions with
   * get_relevant_upstream_map_indexes giving one index, the group not being further mapped inside:
   * the upstream's unexpanded instance (map_index -1) while it has one, and its instance at
   * `mapIndex`. The placeholder (-1) of a task not yet expanded depends on the upstream's
   * placeholder only: once the upstream has expanded it has none, and the task can expand too.
   */
  relevant(taskId: string, mapIndex: number): (string | null)[] {
    const m = this.byTask.get(taskId);
    if (!m) return [null];
    const out: (string | null)[] = [];
    if (m.has(-1)) out.push(m.get(-1) ?? null);
    if (mapIndex >= 0 && m.has(mapIndex)) out.push(m.get(mapIndex) ?? null);
    return out;
  }

  all(): (string | null)[] {
    const out: (string | null)[] = [];
    for (const m of this.byTask.values()) for (const s of m.values()) out.push(s);
    return out;
  }
}
