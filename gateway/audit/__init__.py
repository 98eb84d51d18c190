"""The log of every access: the event a request records, the step that writes it, the
group-commit writer, the PostgreSQL store, and verification."""
