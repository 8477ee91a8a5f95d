"""The JSON API under /api/v1 (bearer tokens, OpenAPI document at /api/openapi.json)."""
from flask import Flask


def register_api(app: Flask) -> None:
    from dispatch.blueprints.api.views import blp
    from dispatch.extensions import api, csrf

    csrf.exempt(blp)  # bearer tokens, not cookies: no cross-site request can carry them
    api.register_blueprint(blp)
