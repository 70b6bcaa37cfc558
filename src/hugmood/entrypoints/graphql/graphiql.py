"""GraphiQL for `GET /graphql` in development, from HugMood's own `/graphiql/` files (copied
from npm's graphiql and react by the web build), never from a CDN: it works offline and sends
no one's browser to a third party. The content security policy holds it to this origin."""

from __future__ import annotations

from starlette.responses import HTMLResponse

GRAPHIQL_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>HugMood GraphiQL</title>
    <style>
      body { height: 100%; margin: 0; width: 100%; overflow: hidden; }
      #graphiql { height: 100vh; display: flex; }
    </style>
    <link rel="stylesheet" href="/graphiql/graphiql.min.css" />
    <script src="/graphiql/react.production.min.js"></script>
    <script src="/graphiql/react-dom.production.min.js"></script>
    <script src="/graphiql/graphiql.min.js"></script>
  </head>
  <body>
    <div id="graphiql">
      Loading GraphiQL… If this stays, the web app is not built: run <code>make run</code>
      (or <code>npm ci &amp;&amp; npm run build</code> in web/).
    </div>
    <script>
      const url = location.href.split("?")[0];
      const socket = url.replace(/^http/, "ws");
      const fetcher = GraphiQL.createFetcher({ url, subscriptionUrl: socket });
      const start = `# HugMood's GraphQL API. Log in with the logIn mutation, then put
# {"Authorization": "Bearer <token>"} in the Headers tab below.
mutation {
  logIn(handle: "alice", password: "hugmood-demo") { token }
}
`;
      ReactDOM.createRoot(document.getElementById("graphiql")).render(
        React.createElement(GraphiQL, {
          fetcher,
          defaultQuery: start,
          defaultEditorToolsVisibility: true,
          isHeadersEditorEnabled: true,
          shouldPersistHeaders: true,
        }),
      );
    </script>
  </body>
</html>
"""


def graphiql_page() -> HTMLResponse:
    """The GraphiQL page with a policy that allows nothing outside this origin."""
    return HTMLResponse(
        _PAGE,
        headers={
            "Content-Security-Policy": GRAPHIQL_CSP,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )
