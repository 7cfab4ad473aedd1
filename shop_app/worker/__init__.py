"""Generation workers: `nu3d worker` (supervisor + one spawned slot process per GPU/CPU slot)."""
