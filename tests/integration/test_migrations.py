"""The Alembic migrations produce exactly the schema the code's tables describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from jiliang.schema import metadata


def test_migrated_database_matches_the_table_definitions(platform):
    with platform.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
