"""One operation: the schema, the steps that run around it (one file each), limits, trusted
documents, text checks, error codes and outcomes."""
