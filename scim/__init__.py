"""SCIM 2.0 adapter over the directory (TODO #5)."""
