"""Schema sources: migration directories and manifests, read from disk or git."""
