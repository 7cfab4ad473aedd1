"""Generation jobs: the queue in the job table (queue.py), input handling, results, SSE broadcasting."""
