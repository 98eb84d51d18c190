"""The govgraph command: main.py builds the parser; one module per command, each with
register() and run()."""
