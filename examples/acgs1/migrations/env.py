"""Alembic environment for the ACGS-1 database."""
import os

import psycopg2
from alembic import context
from sqlalchemy import engine_from_config, pool

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres:acgs@postgres/acgs")


def wait_for_database() -> None:
    psycopg2.connect(DATABASE_URL).close()


def run_migrations_online() -> None:
    wait_for_database()
    config = context.config
    config.set_main_option("sqlalchemy.url", DATABASE_URL)
    connectable = engine_from_config(config.get_section(config.config_ini_section), poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
