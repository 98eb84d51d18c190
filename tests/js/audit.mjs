// The graphql-http audit of a running gateway: `node audit.mjs URL HEADERS_JSON`.
// Prints one JSON line per audit ({id, name, status, reason}); the exit code is 0 when
// the audit ran, whatever its results (the Python test judges them).
import { serverAudits } from "graphql-http";

const [url, headersJson] = process.argv.slice(2);
const extra = JSON.parse(headersJson || "{}");

// Every request carries the client's credentials and purpose: the gateway admits none
// without them, and the audit is about GraphQL over HTTP, not about authentication.
function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers || {});
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  return fetch(input, { ...init, headers });
}

for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  const line = { id: audit.id, name: audit.name, status: result.status };
  if (result.status !== "ok") line.reason = result.reason;
  console.log(JSON.stringify(line));
}
