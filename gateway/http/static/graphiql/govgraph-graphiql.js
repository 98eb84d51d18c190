// govgraph's GraphiQL page. The gateway writes the tabs (its registered operations, with
// example variables) and the headers to start from into #govgraph-graphiql; this file
// only hands them to GraphiQL. A script file rather than inline code, so the page's
// Content-Security-Policy can forbid inline scripts.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("govgraph-graphiql").textContent);
  // The endpoint is the page's own address without its query string: the gateway serves
  // the page only to a GET with none, so the URL is never rewritten with the query.
  const fetcher = GraphiQL.createFetcher({ url: window.location.origin + window.location.pathname });
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
})();
