"""Alembic environment: runs migrations on the URL that rectify's configuration gives."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from rectify.database.tables import metadata

config = context.config


def run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    connectable = create_engine(url, poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run()
