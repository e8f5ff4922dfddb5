// The error a DAG file's definition raises: it names the DAG, the task or field at fault, and what
// was expected. The DAG processor turns it into an import_error row with the line it was thrown at.

export class DagDefinitionError extends Error {
  readonly code = "ORCH_DAG_INVALID" as const;
  readonly dag_id: string | null;
  readonly field: string | null;
  constructor(message: string, where: { dag_id?: string | null; field?: string | null } = {}) {
    super(message);
    this.name = "DagDefinitionError";
    this.dag_id = where.dag_id ?? null;
    this.field = where.field ?? null;
  }
}
