"""TUI test fixtures."""
