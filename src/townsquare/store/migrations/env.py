"""Alembic environment: runs migrations on the engine handed over by townsquare.store.db."""

from alembic import context

from townsquare.store import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # plain `alembic` command line: take the URL from the environment
    import os

    from townsquare.store.db import make_engine

    engine = make_engine(os.environ.get("TOWNSQUARE_DB", "sqlite:///./townsquare.db"))

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
