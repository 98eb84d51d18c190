// govgraph's GraphiQL page. The gateway writes the tabs (its registered operations, with
// example variables) and the headers to start from into #govgraph-graphiql; this file
// hands them to GraphiQL, opens a link's query, and keeps each run to its tab's operation.
// A script file rather than inline code, so the page's Content-Security-Policy can forbid
// inline scripts.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("govgraph-graphiql").textContent);
  const link = linked(new URLSearchParams(window.location.search));
  // The endpoint is the page's own address without its query string; the link's query
  // string is dropped from the address once read, so a reload keeps the tabs as they are.
  const endpoint = GraphiQL.createFetcher({ url: window.location.origin + window.location.pathname });
  if (window.location.search) {
    window.history.replaceState(null, "", window.location.pathname + window.location.hash);
  }

  // GraphiQL reads the operation name from the query editor 100 ms after its text changes,
  // so a run straight after switching tabs would send the new tab's query under the old
  // tab's name. The name sent is therefore checked against the query sent.
  function fetcher(params, options) {
    return endpoint({ ...params, operationName: ownOperation(params.query, params.operationName) }, options);
  }

  // GraphiQL 3.8 fills its editors from its storage, not from the active tab, and on a
  // later visit adds a tab unless one holds exactly those values; it also drops the stored
  // headers until they are edited. So the active tab's values (the first example's on a
  // first visit, a link's) are put where it looks, and a reload reopens the tabs as they were.
  let first = {};
  let selected = link;
  try {
    const storage = window.localStorage;
    let state = JSON.parse(storage.getItem("graphiql:tabState") || "null");
    if (link) {
      state = opened(state && Array.isArray(state.tabs) ? state : { activeTabIndex: 0, tabs: starting() }, link);
      storage.setItem("graphiql:tabState", JSON.stringify(state));
    }
    const active = state ? state.tabs[state.activeTabIndex] : config.tabs[0];
    selected = active;
    if (active) {
      storage.setItem("graphiql:query", active.query || "");
      storage.setItem("graphiql:variables", active.variables || "");
      storage.setItem("graphiql:headers", active.headers || "");
    }
  } catch (e) {
    // No storage, or not GraphiQL's: start from the link, else the first example.
    first = link ? tab(link) : config.tabs[0] || {};
  }
  const tabs = link && first.query === link.query ? [first, ...config.tabs] : config.tabs;

  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      query: first.query,
      variables: first.variables,
      headers: first.headers,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      toolbar: { additionalComponent: SelectedOperation },
      defaultTabs: tabs.length ? tabs : undefined,
      defaultQuery: config.defaultQuery,
      defaultHeaders: config.headers,
      defaultEditorToolsVisibility: config.editorTools,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      inputValueDeprecation: true,
    }),
  );

  // The operation a link names (or that the reopened tab had selected) is selected again
  // once the editor holds the query, with the cursor in it so that Ctrl-Enter runs it:
  // GraphiQL itself starts on a document's first operation and runs the one under the cursor.
  function SelectedOperation() {
    const editors = GraphiQL.React.useEditorContext({ nonNull: true });
    const editor = editors.queryEditor;
    React.useEffect(() => {
      const name = selected && selected.operationName;
      const found = name && editor && editor.getValue() === selected.query ? operations(selected.query) : [];
      const operation = (found || []).find((d) => d.name && d.name.value === name);
      if (operation) {
        editors.setOperationName(name);
        editor.setCursor(editor.posFromIndex(operation.loc.start));
        editor.focus();
      }
    }, [editor]);
    return null;
  }

  // GraphiQL's link convention: ?query=...&variables=...&operationName=... (no headers:
  // credentials do not travel in links).
  function linked(params) {
    const query = params.get("query");
    if (!query) return null;
    return { query, variables: params.get("variables") || "", operationName: params.get("operationName") || null };
  }

  // The tabs GraphiQL would open on a first visit.
  function starting() {
    const examples = config.tabs.length ? config.tabs : [{ query: config.defaultQuery, headers: config.headers }];
    return examples.map((example) => tab({ ...example, operationName: null }));
  }

  // `state` with the link's tab active: the tab already holding its query and variables, or
  // a new one with the headers new tabs get.
  function opened(state, link) {
    let index = state.tabs.findIndex((t) => t.query === link.query && (t.variables || "") === link.variables);
    if (index < 0) {
      state.tabs.push(tab({ ...link, headers: config.headers }));
      index = state.tabs.length - 1;
    }
    return { ...state, activeTabIndex: index };
  }

  // A tab as GraphiQL stores it.
  function tab(values) {
    const names = operationNames(values.query);
    const title = values.operationName || (names && names[0]) || "<untitled>";
    return {
      id: Math.random().toString(36).slice(2) + Date.now().toString(36),
      title: title,
      query: values.query || null,
      variables: values.variables || null,
      headers: values.headers !== undefined ? values.headers : config.headers,
      operationName: values.operationName || null,
      response: null,
    };
  }

  // The name to send with `query`: `name` if the query holds such an operation, else its
  // only (or first) operation's; unchanged when the query does not parse (the gateway says
  // why).
  function ownOperation(query, name) {
    const names = operationNames(query);
    if (names === null || names.length === 0 || (name && names.includes(name))) return name;
    return names[0] || undefined;
  }

  function operationNames(query) {
    const found = operations(query);
    return found && found.map((d) => (d.name ? d.name.value : null));
  }

  function operations(query) {
    try {
      return GraphiQL.GraphQL.parse(query || "").definitions.filter((d) => d.kind === "OperationDefinition");
    } catch (e) {
      return null;
    }
  }
})();
