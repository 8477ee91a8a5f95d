"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

import models
from dispatch import ROOT, create_app

MODEL_TABLES = sorted(models.db.metadata.tables)


def scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(config)


def url_of(migrated_database) -> str:
    return migrated_database if isinstance(migrated_database, str) else f"sqlite:///{migrated_database}"


@pytest.fixture(scope="module")
def migrated_schema(migrated_database):
    """Table name -> column names, as the session's migrated database has them; and its alembic version."""
    engine = create_engine(url_of(migrated_database))
    try:
        inspector = inspect(engine)
        tables = {name: {c["name"] for c in inspector.get_columns(name)} for name in inspector.get_table_names()}
        with engine.connect() as conn:
            versions = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()
    return tables, versions


def test_there_is_exactly_one_head_and_one_base():
    directory = scripts()
    assert len(directory.get_heads()) == 1, directory.get_heads()
    assert len(directory.get_bases()) == 1, directory.get_bases()


def test_every_revision_is_on_the_line_from_base_to_head():
    directory = scripts()
    on_the_line = list(directory.walk_revisions(base="base", head="heads"))
    assert {r.revision for r in on_the_line} == {r.revision for r in directory.walk_revisions()}


def test_the_migrated_database_is_at_head(migrated_schema):
    _, versions = migrated_schema
    assert versions == scripts().get_heads()


def test_upgrade_creates_every_table_of_the_models_and_no_other(migrated_schema):
    tables, _ = migrated_schema
    assert set(tables) - {"alembic_version"} == set(MODEL_TABLES)


@pytest.mark.parametrize("table", MODEL_TABLES)
def test_each_migrated_table_has_the_models_columns(migrated_schema, table):
    tables, _ = migrated_schema
    assert tables.get(table) == {c.name for c in models.db.metadata.tables[table].columns}


def test_flask_db_upgrade_on_an_empty_database_builds_every_table(empty_database_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url, "SECRET_KEY": "x"})
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    with app.app_context():
        engine = models.db.engine
        try:
            assert set(inspect(engine).get_table_names()) - {"alembic_version"} == set(MODEL_TABLES)
        finally:
            engine.dispose()
