"""Developer tools run through make targets (not part of the installed package)."""
