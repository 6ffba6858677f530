"""The identity server application: composition root, CLI, (later) OIDC and console."""

from idp.app import create_app

__all__ = ["create_app"]
