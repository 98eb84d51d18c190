"""Where the public listener answers; every part that matches a path reads it here."""

GRAPHQL = "/graphql"  # the GraphQL endpoint (and the GraphiQL page, for browsers)
HEALTHZ = "/healthz"  # liveness; also on the operators' listener with /readyz and /metrics
