"""The process: its listeners and their HTTP protocol, the --workers supervisor, and
garbage-collector settings."""
