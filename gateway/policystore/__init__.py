"""The policy store: clients, purposes, grants, applications and roles in PostgreSQL."""
