"""What the people who read the results use: the read-only HTTP API (and the dashboard over it)."""
