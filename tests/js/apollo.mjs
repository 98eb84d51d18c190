// Apollo Client (the npm package) against a running gateway, with its persisted-query
// link: `node apollo.mjs URL HEADERS_JSON VARIABLES_JSON [get]`. Runs one query twice
// (the cache off, so both go to the server) and prints one JSON object: what each HTTP
// request carried and got, and what each query resolved to or failed with.
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

const [url, headersJson, variablesJson, method] = process.argv.slice(2);
const exchanges = [];

async function recordingFetch(input, init = {}) {
  const response = await fetch(input, init);
  const text = await response.clone().text();
  const sent = init.body ? JSON.parse(init.body) : Object.fromEntries(new URL(input).searchParams);
  let codes = [];
  try {
    codes = (JSON.parse(text).errors || []).map((e) => e.extensions && e.extensions.code);
  } catch {
    codes = ["<not JSON>"];
  }
  exchanges.push({ method: init.method || "GET", hasQuery: Boolean(sent.query), status: response.status, codes });
  return response;
}

const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const link = new PersistedQueryLink({ sha256, useGETForHashedQueries: method === "get" }).concat(
  new HttpLink({ uri: url, headers: JSON.parse(headersJson), fetch: recordingFetch }),
);
const client = new ApolloClient({ link, cache: new InMemoryCache() });
const query = gql`
  query ApolloName($id: ResidentId!) {
    person(id: $id) {
      name
    }
  }
`;

const results = [];
for (let i = 0; i < 2; i++) {
  try {
    const { data, error } = await client.query({
      query,
      variables: JSON.parse(variablesJson),
      fetchPolicy: "network-only",
      errorPolicy: "none",
    });
    results.push(error ? { error: error.message } : { data });
  } catch (error) {
    results.push({ error: error.message });
  }
}
console.log(JSON.stringify({ exchanges, results }));
