// govgraph's GraphiQL page. The gateway writes the tabs (its registered operations, with
// example variables) and the headers to start from into #govgraph-graphiql; this file
// hands them to GraphiQL and keeps each run to its tab's operation. A script file rather
// than inline code, so the page's Content-Security-Policy can forbid inline scripts.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("govgraph-graphiql").textContent);
  // The endpoint is the page's own address without its query string: the gateway serves
  // the page only to a GET with none, so the URL is never rewritten with the query.
  const endpoint = GraphiQL.createFetcher({ url: window.location.origin + window.location.pathname });

  // GraphiQL reads the operation name from the query editor 100 ms after its text changes,
  // so a run straight after switching tabs would send the new tab's query under the old
  // tab's name. The name sent is therefore checked against the query sent.
  function fetcher(params, options) {
    return endpoint({ ...params, operationName: ownOperation(params.query, params.operationName) }, options);
  }
  // GraphiQL 3.8 fills its editors from its storage, not from the active tab, and on a
  // later visit adds a tab unless one holds exactly those values; it also drops the stored
  // headers until they are edited. So the active tab's values (the first example's on a
  // first visit) are put where it looks, and a reload reopens the tabs as they were.
  let first = {};
  try {
    const storage = window.localStorage;
    const stored = JSON.parse(storage.getItem("graphiql:tabState") || "null");
    const active = stored ? stored.tabs[stored.activeTabIndex] : config.tabs[0];
    if (active) {
      storage.setItem("graphiql:query", active.query || "");
      storage.setItem("graphiql:variables", active.variables || "");
      storage.setItem("graphiql:headers", active.headers || "");
    }
  } catch (e) {
    first = config.tabs[0] || {}; // no storage, or not GraphiQL's: start from the first example
  }
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      query: first.query,
      variables: first.variables,
      headers: first.headers,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      defaultTabs: config.tabs.length ? config.tabs : undefined,
      defaultQuery: config.defaultQuery,
      defaultHeaders: config.headers,
      defaultEditorToolsVisibility: config.editorTools,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      inputValueDeprecation: true,
    }),
  );

  // The name to send with `query`: `name` if the query holds such an operation, else its
  // only (or first) operation's; unchanged when the query does not parse (the gateway says
  // why).
  function ownOperation(query, name) {
    const names = operationNames(query);
    if (names === null || names.length === 0 || (name && names.includes(name))) return name;
    return names[0] || undefined;
  }

  function operationNames(query) {
    try {
      return GraphiQL.GraphQL.parse(query || "")
        .definitions.filter((d) => d.kind === "OperationDefinition")
        .map((d) => (d.name ? d.name.value : null));
    } catch (e) {
      return null;
    }
  }
})();
