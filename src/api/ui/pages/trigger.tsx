// The trigger form: one field per param (see trigger-form.ts), an optional logical date and run
// id, "unpause when triggering"; errors next to their field, with what was typed kept.
import type { FC } from "hono/jsx";
import type { SchedulableDag } from "../../../scheduler/dag-bag.ts";
import type { DagRow } from "../../../store/schema.ts";
import type { AuthUser } from "../../context.ts";
import { Csrf, dagUrl, Layout } from "../components.tsx";
import type { ParamField } from "../trigger-form.ts";

export interface TriggerFormState {
  fields: ParamField[];
  logicalDate: string;
  runId: string;
  unpause: boolean;
  errors: { logical_date?: string; run_id?: string; form?: string };
}

const FieldInput: FC<{ f: ParamField }> = ({ f }) => {
  const id = `f-${f.input}`;
  switch (f.kind) {
    case "checkbox":
      return <input type="checkbox" id={id} name={f.input} value="true" checked={f.checked} />;
    case "integer":
    case "number":
      return <input type="number" id={id} name={f.input} value={f.value} step={f.kind === "integer" ? "1" : "any"} inputmode={f.kind === "integer" ? "numeric" : "decimal"} />;
    case "select":
      return (
        <select id={id} name={f.input}>
          {f.required ? <option value="">— choose —</option> : null}
          {f.options.map((o) => (
            <option value={o.value} selected={o.value === f.value}>
              {o.label}
            </option>
          ))}
        </select>
      );
    case "json":
      return (
        <textarea id={id} name={f.input} spellcheck={false}>
          {f.value}
        </textarea>
      );
    case "date":
      return <input type="date" id={id} name={f.input} value={f.value} />;
    default:
      return <input type="text" id={id} name={f.input} value={f.value} size={50} />;
  }
};

export const TriggerPage: FC<{ dag: DagRow; sched: SchedulableDag; state: TriggerFormState; user: AuthUser; csrf: string }> = ({ dag, sched, state, user, csrf }) => (
  <Layout title={`Trigger ${dag.dag_id}`} user={user} csrf={csrf}>
    <div class="crumbs">
      <a href="/dags">DAGs</a> / <a href={dagUrl(dag.dag_id)}>{dag.dag_id}</a> /
    </div>
    <h1>Trigger {dag.dag_id}</h1>
    {state.errors.form ? (
      <p class="banner error" id="form-error">
        {state.errors.form}
      </p>
    ) : null}
    <form method="post" action={`${dagUrl(dag.dag_id)}/trigger`} novalidate id="trigger-form">
      <Csrf token={csrf} />
      {state.fields.length ? <h2>Params</h2> : <p class="muted">This DAG has no params.</p>}
      {state.fields.map((f) => (
        <div class={`field${f.error ? " invalid" : ""}`} data-param={f.name}>
          <label for={`f-${f.input}`}>
            {f.name}
            {f.required ? " *" : ""}
          </label>
          {f.description ? <div class="desc">{f.description}</div> : null}
          <FieldInput f={f} />
          {f.error ? (
            <div class="error" role="alert" data-error-for={f.name}>
              {f.error}
            </div>
          ) : null}
        </div>
      ))}
      <h2>Run</h2>
      <div class={`field${state.errors.logical_date ? " invalid" : ""}`}>
        <label for="f-logical_date">Logical date (optional, UTC)</label>
        <div class="desc">Empty: now. The data interval follows from the DAG's schedule ({sched.dag.timetable_summary}).</div>
        <input type="text" id="f-logical_date" name="logical_date" value={state.logicalDate} placeholder="2024-01-01T00:00:00Z" />
        {state.errors.logical_date ? (
          <div class="error" role="alert" data-error-for="logical_date">
            {state.errors.logical_date}
          </div>
        ) : null}
      </div>
      <div class={`field${state.errors.run_id ? " invalid" : ""}`}>
        <label for="f-run_id">Run id (optional)</label>
        <input type="text" id="f-run_id" name="run_id" value={state.runId} placeholder="manual__…" size={50} />
        {state.errors.run_id ? (
          <div class="error" role="alert" data-error-for="run_id">
            {state.errors.run_id}
          </div>
        ) : null}
      </div>
      {dag.is_paused === 1 ? (
        <div class="field">
          <label>
            <input type="checkbox" name="unpause" value="true" checked={state.unpause} /> Unpause {dag.dag_id} when triggering (a paused DAG's run waits)
          </label>
        </div>
      ) : null}
      <button type="submit" class="primary">
        Trigger
      </button>{" "}
      <a href={dagUrl(dag.dag_id)}>Cancel</a>
    </form>
  </Layout>
);
