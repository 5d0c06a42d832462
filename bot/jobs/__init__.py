"""The worker side: the job queue, the cached clones, the handlers that plan and hand the
result to the executor."""
