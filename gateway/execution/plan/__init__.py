"""Plan-based execution: each (document, operation, grants) planned once, then executed
breadth-first into response dicts, without graphql-core's per-field machinery."""
