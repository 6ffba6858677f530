"""Pure rules of the government directory. Imports nothing of ours, no I/O."""
