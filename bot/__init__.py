"""rollback-plan: safe database rollbacks for GitOps."""
