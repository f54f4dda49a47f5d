// A real Better Auth server for the test suite: email and password sign-up plus the `jwt`
// plugin (EdDSA keys by default, JWKS at /api/auth/jwks), on the test PostgreSQL through
// `pg`, its tables in their own schema (as Neon Auth keeps its users in `neon_auth`).
//
// Environment: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (read by `pg`),
// BETTER_AUTH_SECRET, BA_SCHEMA (default better_auth), BA_ALG (default EdDSA).
// Prints `listening <port>` once migrated and serving on 127.0.0.1:<free port>.
//
// Besides Better Auth's own routes, one test-only route: POST /test/sign {payload} signs an
// arbitrary payload with Better Auth's current key (its server-only `signJWT` API), so the
// tests can hold genuinely signed expired, wrong-issuer and wrong-audience tokens.
import http from "node:http";

import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins";
import pg from "pg";

const schema = process.env.BA_SCHEMA ?? "better_auth";
const alg = process.env.BA_ALG ?? "EdDSA";

if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name: ${schema}`);
const setup = new pg.Client();
await setup.connect();
await setup.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
await setup.end();

const pool = new pg.Pool({ options: `-c search_path=${schema}`, max: 5 });
const server = http.createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address();
const baseURL = `http://127.0.0.1:${port}`;

const auth = betterAuth({
  baseURL,
  secret: process.env.BETTER_AUTH_SECRET,
  database: pool,
  emailAndPassword: { enabled: true },
  plugins: [jwt({ jwks: { keyPairConfig: { alg } } })],
  telemetry: { enabled: false },
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const authHandler = toNodeHandler(auth);

async function readJson(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
}

server.on("request", async (request, response) => {
  try {
    if (request.method === "POST" && request.url === "/test/sign") {
      const { payload } = await readJson(request);
      const { token } = await auth.api.signJWT({ body: { payload } });
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ token }));
      return;
    }
    await authHandler(request, response);
  } catch (error) {
    console.error(error);
    response.writeHead(500);
    response.end();
  }
});

const stop = () => server.close(() => pool.end().then(() => process.exit(0)));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
console.log(`listening ${port}`);
