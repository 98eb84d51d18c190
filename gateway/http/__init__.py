"""The public endpoints: the GraphQL view, refused requests, health, GraphiQL, the
operators' endpoints, and the paths they answer on."""
