"""Shared web helpers for the route modules and API families: typed app state, the database call, API-key
owners, uploads, SSE and ZIP streaming, file responses, error handlers, request ids, the family type.

Route modules may import these (and nothing of each other; an import-linter contract says so)."""
