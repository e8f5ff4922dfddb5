// What a template reads from the store, found from its syntax tree (nunjucks' parser) before it is
// rendered: the worker asks for exactly these values and renders against them, so a try holds
// only the variables, connections and XComs its templates name (rendering is synchronous, so the
// values must be there first).
//
// Recognised, with literal names (what Airflow's docs show):
//   var.value.KEY  var.value['KEY']  var.value.get('KEY', ...)   (and var.json.*)
//   conn.ID  conn['ID']  conn.get('ID', ...)
//   ti.xcom_pull('t' | ['a', 'b'] | None, 'key')  and task_ids= / key= keywords (task_instance too)
// Any other use of `var` or `conn` (a key computed while rendering, `{% set v = var.value %}`)
// cannot be known in advance: it is reported as `dynamic` and the render fails saying so. Any
// other use of `ti.xcom_pull` (computed task ids) asks for all of the run's XComs.
import nunjucks from "nunjucks";

export interface XcomReference {
  /** undefined: any task (the task ids were computed); null: the task itself. */
  taskIds: string[] | null | undefined;
  /** undefined: any key (computed). */
  key: string | undefined;
}

export interface TemplateReferences {
  variables: Set<string>;
  connections: Set<string>;
  xcoms: XcomReference[];
  /** Where a variable or connection is read with a name known only while rendering. */
  dynamic: string[];
}

export function emptyReferences(): TemplateReferences {
  return { variables: new Set(), connections: new Set(), xcoms: [], dynamic: [] };
}

/** nunjucks' node shape (untyped in @types/nunjucks). */
interface AstNode {
  typename: string;
  fields: string[];
  value?: unknown;
  children?: AstNode[];
  target?: AstNode;
  val?: AstNode;
  name?: AstNode;
  args?: AstNode;
  key?: AstNode;
  [field: string]: unknown;
}

interface Parser {
  parse(src: string): AstNode;
}

const parser = (nunjucks as unknown as { parser: Parser }).parser;

const isSymbol = (n: AstNode | undefined, name?: string): boolean =>
  n?.typename === "Symbol" && (name === undefined || n.value === name);
const literalString = (n: AstNode | undefined): string | undefined =>
  n?.typename === "Literal" && typeof n.value === "string" ? n.value : undefined;
const isTi = (n: AstNode | undefined) => isSymbol(n, "ti") || isSymbol(n, "task_instance");
/** `var.value` or `var.json`. */
const isVarView = (n: AstNode | undefined) =>
  n?.typename === "LookupVal" && isSymbol(n.target, "var") && (literalString(n.val) === "value" || literalString(n.val) === "json");

/** Adds what `template` reads to `into` (default: a fresh set). A template that does not parse
 *  reads nothing here; rendering it reports the syntax error. */
export function findTemplateReferences(template: string, into: TemplateReferences = emptyReferences()): TemplateReferences {
  if (!template.includes("{{") && !template.includes("{%")) return into;
  let root: AstNode;
  try {
    root = parser.parse(template);
  } catch {
    return into;
  }
  walk(root, into);
  return into;
}

function walk(node: unknown, refs: TemplateReferences): void {
  if (!node || typeof node !== "object") return;
  const n = node as AstNode;
  if (!Array.isArray(n.fields)) return;

  if (n.typename === "FunCall" && n.name?.typename === "LookupVal") {
    const callee = n.name;
    const method = literalString(callee.val);
    const args = n.args?.children ?? [];
    if (isTi(callee.target) && method === "xcom_pull") {
      refs.xcoms.push(xcomPullReference(args));
      return walkAll(args, refs);
    }
    if (method === "get" && (isVarView(callee.target) || isSymbol(callee.target, "conn"))) {
      const name = literalString(args[0]);
      const isVar = isVarView(callee.target);
      if (name === undefined) refs.dynamic.push(`${isVar ? "var" : "conn"}.get(...) with a computed name`);
      else (isVar ? refs.variables : refs.connections).add(name);
      return walkAll(args.slice(1), refs);
    }
  }
  if (n.typename === "LookupVal") {
    if (isVarView(n.target)) {
      const name = literalString(n.val);
      if (name === undefined) {
        refs.dynamic.push("var.value[...] with a computed name");
        return walk(n.val, refs);
      }
      if (name !== "get") refs.variables.add(name);
      else refs.dynamic.push("var.value.get used other than as a call with a literal name");
      return;
    }
    if (isSymbol(n.target, "conn")) {
      const name = literalString(n.val);
      if (name === undefined) {
        refs.dynamic.push("conn[...] with a computed name");
        return walk(n.val, refs);
      }
      if (name !== "get") refs.connections.add(name);
      else refs.dynamic.push("conn.get used other than as a call with a literal name");
      return;
    }
    if (isTi(n.target)) {
      // ti.task_id and friends read nothing; ti.xcom_pull outside a call may be called anywhere.
      if (literalString(n.val) === "xcom_pull") refs.xcoms.push({ taskIds: undefined, key: undefined });
      return walk(n.val, refs);
    }
  }
  if (n.typename === "Symbol") {
    if (n.value === "var") refs.dynamic.push("var used other than as var.value.KEY or var.json.KEY");
    else if (n.value === "conn") refs.dynamic.push("conn used other than as conn.ID or conn.get('ID')");
    else if (n.value === "ti" || n.value === "task_instance") refs.xcoms.push({ taskIds: undefined, key: undefined });
    return;
  }
  for (const f of n.fields) {
    // A filter's name is a Symbol in the tree but never a context value.
    if (n.typename === "Filter" && f === "name") continue;
    const v = n[f];
    if (Array.isArray(v)) walkAll(v, refs);
    else walk(v, refs);
  }
}

function walkAll(nodes: unknown[], refs: TemplateReferences): void {
  for (const c of nodes) walk(c, refs);
}

/** RuntimeTaskInstance.xcom_pull(task_ids=None, key="return_value") from its call's arguments. */
function xcomPullReference(args: AstNode[]): XcomReference {
  let taskIdsNode: AstNode | undefined;
  let keyNode: AstNode | undefined;
  let positional = 0;
  for (const a of args) {
    if (a.typename === "KeywordArgs") {
      for (const pair of a.children ?? []) {
        const name = pair.key?.value;
        if (name === "task_ids") taskIdsNode = pair.value as AstNode;
        else if (name === "key") keyNode = pair.value as AstNode;
      }
    } else {
      if (positional === 0) taskIdsNode = a;
      else if (positional === 1) keyNode = a;
      positional++;
    }
  }
  return { taskIds: taskIdsOf(taskIdsNode), key: keyNode === undefined ? "return_value" : literalString(keyNode) };
}

function taskIdsOf(n: AstNode | undefined): string[] | null | undefined {
  if (n === undefined || isSymbol(n, "None") || (n.typename === "Literal" && n.value === null)) return null;
  const one = literalString(n);
  if (one !== undefined) return [one];
  if (n.typename === "Array") {
    const ids = (n.children ?? []).map(literalString);
    return ids.every((x): x is string => x !== undefined) ? ids : undefined;
  }
  return undefined;
}
