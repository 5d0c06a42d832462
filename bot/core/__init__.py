"""The pure schema engine: SQL text in, values out. No I/O."""
