// orch users list | create | reset-password | delete: the API's users (Airflow's simple auth
// manager roles: viewer, user, op, admin). Generated passwords are printed once and kept in
// [core] simple_auth_manager_passwords_file; the store holds only scrypt hashes.
import type { Argv, CommandModule } from "yargs";
import { addUser, passwordsFile, removeUser, resetUserPassword } from "../api/auth/simple-auth-manager.ts";
import { ROLES } from "../api/auth/roles.ts";
import { listUsers } from "../store/users.ts";
import { withStore } from "./common.ts";
import { confirmOrRefuse } from "./confirm.ts";
import { outputOption, printRows, type OutputFormat } from "./output.ts";

const listCommand: CommandModule<object, { output: OutputFormat }> = {
  command: "list",
  describe: "List the API's users and their roles",
  builder: (y: Argv) => y.options(outputOption).example("$0 users list -o json", "") as unknown as Argv<{ output: OutputFormat }>,
  handler: (args) =>
    withStore(async (store) => {
      const users = await listUsers(store.db);
      printRows(users.map((u) => ({ username: u.username, role: u.role, created_at: u.created_at })), args.output, ["username", "role", "created_at"]);
    }),
};

interface CreateArgs {
  username: string;
  role: string;
  password?: string;
}

const createCommand: CommandModule<object, CreateArgs> = {
  command: "create",
  describe: "Create a user; without --password one is generated and printed once",
  builder: (y: Argv) =>
    y
      .option("username", { alias: "u", type: "string", demandOption: true, describe: "User name" })
      .option("role", { alias: "r", type: "string", choices: ROLES, default: "viewer", describe: "What the user may do" })
      .option("password", { alias: "p", type: "string", describe: "The password (at least 8 characters); default generated" })
      .example("$0 users create -u alice -r op", "alice may run DAGs and edit variables and connections; prints her password")
      .example("$0 users create -u ci -r user -p \"$CI_PASSWORD\"", "a user for scripts, with a chosen password") as unknown as Argv<CreateArgs>,
  handler: (args) =>
    withStore(async (store, config) => {
      const r = await addUser(store, config, { username: args.username, role: args.role, password: args.password });
      console.log(`created user ${args.username} (role ${args.role})`);
      if (r.generatedPassword) console.log(`password: ${r.generatedPassword}\n(kept in ${passwordsFile(config)})`);
    }),
};

const resetCommand: CommandModule<object, { username: string; password?: string }> = {
  command: "reset-password",
  describe: "Set a user's password; without --password a new one is generated and printed once",
  builder: (y: Argv) =>
    y
      .option("username", { alias: "u", type: "string", demandOption: true })
      .option("password", { alias: "p", type: "string", describe: "The new password; default generated" })
      .example("$0 users reset-password -u admin", "a new generated admin password") as unknown as Argv<{ username: string; password?: string }>,
  handler: (args) =>
    withStore(async (store, config) => {
      const r = await resetUserPassword(store, config, args.username, args.password);
      console.log(`password of ${args.username} changed`);
      if (r.generatedPassword) console.log(`password: ${r.generatedPassword}\n(kept in ${passwordsFile(config)})`);
    }),
};

const deleteCommand: CommandModule<object, { username: string; yes: boolean }> = {
  command: "delete",
  describe: "Delete a user (tokens already issued stay valid until they expire)",
  builder: (y: Argv) =>
    y
      .option("username", { alias: "u", type: "string", demandOption: true })
      .option("yes", { alias: "y", type: "boolean", default: false, describe: "Do not ask for confirmation" })
      .example("$0 users delete -u alice --yes", "") as unknown as Argv<{ username: string; yes: boolean }>,
  handler: (args) =>
    withStore(async (store, config) => {
      if (!(await confirmOrRefuse(`Delete user ${args.username}?`, { yes: args.yes }))) {
        console.error("cancelled; nothing was deleted");
        process.exitCode = 1;
        return;
      }
      await removeUser(store, config, args.username);
      console.log(`deleted user ${args.username}`);
    }),
};

export const usersCommand: CommandModule = {
  command: "users <command>",
  describe: "Manage the API's users (simple auth manager)",
  builder: (y) =>
    y
      .command([listCommand, createCommand, resetCommand, deleteCommand] as CommandModule[])
      .demandCommand(1, "name a users command: list, create, reset-password, delete")
      .example("$0 users list", "who may log in to the API"),
  handler: () => {},
};
