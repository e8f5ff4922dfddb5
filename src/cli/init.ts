// orch init [DIR]: a new home, ready for the author's loop: dags/ with one example DAG, a
// commented orch.toml (every setting at its default), and a tsconfig.json that resolves "orch" to
// this installation's types, so an editor type-checks DAG files as `orch dags check` does.
// Existing files are kept, never overwritten.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { resolveHome, SETTINGS } from "../config.ts";
import { dagCompilerOptionsJson } from "../dag-processing/type-check.ts";

export const EXAMPLE_DAG = `// An example DAG: a TaskFlow task's return value is its XCom; passing it to the next task wires
// the edge. Try: orch dags check && orch dags test hello 2024-01-01
import { dag, task, bash, Param } from "orch";

export default dag(
  {
    dag_id: "hello",
    schedule: "@daily",
    start_date: "2024-01-01",
    catchup: false,
    params: { name: Param("world", { type: "string" }) },
    tags: ["example"],
  },
  () => {
    const greet = task({ task_id: "greet" }, async (ctx) => \`hello, \${ctx.params.name}\`);
    const shout = task({ task_id: "shout" }, async (text: string) => text.toUpperCase());
    const report = bash({ task_id: "report", command: "echo {{ ds }}: {{ ti.xcom_pull('shout') }}" });
    shout(greet()).then(report);
  },
);
`;

/** orch.toml with every setting commented out at its default, described. */
export function commentedToml(): string {
  const out = ["# orch settings. Every key is shown at its default, commented out: uncomment to change.", "# Environment variables win: ORCH__SECTION__KEY (or AIRFLOW__SECTION__KEY), e.g. ORCH__CORE__PARALLELISM=4.", ""];
  for (const [section, keys] of Object.entries(SETTINGS)) {
    out.push(`[${section}]`);
    for (const [key, spec] of Object.entries(keys)) {
      out.push(`# ${spec.description}`);
      out.push(`# ${key} = ${typeof spec.default === "string" ? JSON.stringify(spec.default) : String(spec.default)}`);
    }
    out.push("");
  }
  return out.join("\n");
}

export function tsconfigJson(): string {
  return JSON.stringify({ compilerOptions: dagCompilerOptionsJson(), include: ["dags"] }, null, 2) + "\n";
}

export const initCommand: CommandModule<object, { dir?: string }> = {
  command: "init [dir]",
  describe: "Create a home: dags/ with an example DAG, a commented orch.toml, a tsconfig.json for editors",
  builder: (y: Argv) =>
    y
      .positional("dir", { type: "string", describe: "Where; default $ORCH_HOME (or ~/orch)" })
      .example("$0 init ./my_home", "then: export ORCH_HOME=$PWD/my_home")
      .example("$0 init", "initialise $ORCH_HOME") as Argv<{ dir?: string }>,
  handler: (args) => {
    const home = args.dir ? resolve(args.dir) : resolveHome();
    mkdirSync(join(home, "dags"), { recursive: true });
    const files: [string, string][] = [
      [join(home, "orch.toml"), commentedToml()],
      [join(home, "tsconfig.json"), tsconfigJson()],
      [join(home, "dags", "hello.ts"), EXAMPLE_DAG],
    ];
    for (const [path, text] of files) {
      if (existsSync(path)) console.log(`kept    ${path} (exists)`);
      else {
        writeFileSync(path, text);
        console.log(`created ${path}`);
      }
    }
    const envHint = args.dir ? `export ORCH_HOME=${home}\n  ` : "";
    console.log(`\nNext:\n  ${envHint}orch dags check\n  orch dags test hello 2024-01-01\n  orch standalone`);
  },
};
