"""Alembic migrations. Run them with `nu3d db upgrade` / `nu3d db downgrade REV`."""
