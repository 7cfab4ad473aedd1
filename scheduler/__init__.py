"""Background scheduler process: scans, token refresh, lease reaper, cleanup."""
