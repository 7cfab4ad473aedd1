"""Generation jobs and results (the job table is the queue). Filled in by the jobs capability (issue 6)."""
