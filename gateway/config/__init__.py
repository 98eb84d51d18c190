"""govgraph.toml and the environment, read in one place into typed models (settings.py
lists the public names)."""
