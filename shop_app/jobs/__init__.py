"""The job core: every API family calls it, none bypasses it. The job table is the queue.

- `submit`: one typed request (`SubmitRequest`: images or URLs, params, labels, priority, idempotency key,
  owner, family) in, one job out.
- `queries`: one owned job (`get_owned`), or a page through one filter type (`JobFilter`, `Cursor`).
- `commands`: cancel, retry, rename, fail, annotate, delete: every state change, version bump and log line.
- `stats`: queue position, ETAs, statistics. `results`: a succeeded job's stored artifacts.
- `lease`: the worker side (claim, heartbeat, complete, fail, release, reap). `workers`: live slots.
- `owners`: who owns a job, and the one ownership rule. `cleanup`: purging a family's old finished jobs.
- `rows`: ids, the version bump, the row lock. `errors`: what the core raises (families map them).
- `params`, `images`: input validation. `events`: in-process change notifications for SSE streams.
No web imports (an import-linter contract): the worker and scheduler use this too.
"""
