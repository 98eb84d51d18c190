"""govgraph's gateway: everything between a client and the graph. gateway/app.py is the
place to start."""
