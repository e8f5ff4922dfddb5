// orch cheat-sheet: the commands in one screen, grouped as a DAG author meets them (Airflow has
// `airflow cheat-sheet`). Kept by hand: short lines that copy-paste at 80 columns.
import type { CommandModule } from "yargs";

export const CHEAT_SHEET = `Start
  orch init ./my_home                   a new home with an example DAG
  export ORCH_HOME=$PWD/my_home
  orch standalone                       everything in one process

The author's loop
  orch dags check                       type-check every DAG file
  orch dags test example_etl 2024-01-01 run the whole DAG now, logs live
  orch tasks test example_etl extract 2024-01-01
                                        run one task, record nothing
  orch dags list-import-errors          files that do not load, and why

DAGs and runs
  orch dags list                        the DAGs (parses the folder first)
  orch dags details example_etl         one DAG's settings
  orch dags show example_etl            its tasks as a tree
  orch dags next-execution example_etl  the next logical date
  orch dags trigger example_etl --unpause
  orch dags list-runs example_etl -o json
  orch dags state example_etl 2024-01-01
  orch dags pause example_etl
  orch dags delete example_etl          all its records (asks first)

Task instances
  orch tasks list example_etl
  orch tasks states-for-dag-run example_etl RUN_ID
  orch tasks clear example_etl --only-failed

Setup
  orch db migrate | db check | db reset
  orch config list | config get-value core dags_folder
  orch info                             version, home, database, paths`;

export const cheatSheetCommand: CommandModule = {
  command: "cheat-sheet",
  describe: "The commands on one screen",
  builder: (y) => y.example("$0 cheat-sheet", ""),
  handler: () => console.log(CHEAT_SHEET),
};
