"""The directory: organisation tree, people, posts, accounts, tags and audit log."""
