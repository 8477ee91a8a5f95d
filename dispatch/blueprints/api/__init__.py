"""The JSON API under /api/v1 (bearer tokens, OpenAPI document at /api/openapi.json)."""
from flask import Flask


def register_api(app: Flask) -> None:
    from dispatch.blueprints.api import alarms  # noqa: F401  (its routes join blp)
    from dispatch.blueprints.api import compliance  # noqa: F401  (its routes join blp)
    from dispatch.blueprints.api import checks  # noqa: F401  (its routes join blp)
    from dispatch.blueprints.api import permits  # noqa: F401  (its routes join blp)
    from dispatch.blueprints.api.schemas import ALARM_NAMES_ITS_POINT
    from dispatch.blueprints.api.views import blp
    from dispatch.extensions import api, csrf

    csrf.exempt(blp)  # bearer tokens, not cookies: no cross-site request can carry them
    api.register_blueprint(blp)
    api.spec.components.schemas["Alarm"]["anyOf"] = ALARM_NAMES_ITS_POINT
    app.register_blueprint(swagger_ui_files())


def swagger_ui_files():
    """Swagger UI's files (from the pinned swagger-ui-bundle package) served by the app itself, so
    /api/docs works on a hospital network with no way out to the internet."""
    from flask import Blueprint
    from swagger_ui_bundle import swagger_ui_path

    return Blueprint("api_docs_files", __name__, static_folder=swagger_ui_path, static_url_path="/api/docs/static")
