// The login page, and the page an error becomes.
import type { FC } from "hono/jsx";
import type { AuthUser } from "../../context.ts";
import { Csrf, Layout } from "../components.tsx";

export const LoginPage: FC<{ csrf: string; next: string; username?: string; error?: string }> = ({ csrf, next, username, error }) => (
  <Layout title="Log in">
    <form class="login" method="post" action="/login" id="login-form">
      <h1>Log in to orch</h1>
      {error ? (
        <p class="error" role="alert" id="login-error">
          {error}
        </p>
      ) : null}
      <Csrf token={csrf} />
      <input type="hidden" name="next" value={next} />
      <div class="field">
        <label for="username">User name</label>
        <input id="username" name="username" autocomplete="username" value={username ?? ""} required autofocus />
      </div>
      <div class="field">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
      </div>
      <button type="submit" class="primary">
        Log in
      </button>
      <p class="muted">
        The first start of <span class="mono">orch standalone</span> printed the admin password; it is also in <span class="mono">$ORCH_HOME/simple_auth_manager_passwords.json.generated</span>.
      </p>
    </form>
  </Layout>
);

export const ErrorPage: FC<{ status: number; message: string; user?: AuthUser; csrf?: string }> = ({ status, message, user, csrf }) => (
  <Layout title={`Error ${status}`} user={user} csrf={csrf}>
    <h1>{status === 404 ? "Not found" : status === 403 ? "Not allowed" : status === 401 ? "Not logged in" : status >= 500 ? "Something went wrong" : "Cannot do that"}</h1>
    <p class="banner" id="error-message">
      {message}
    </p>
    <p>
      {status === 401 ? <a href="/login">Log in</a> : <a href="/dags">Back to the DAGs</a>}
    </p>
  </Layout>
);
