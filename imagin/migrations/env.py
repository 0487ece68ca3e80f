"""Alembic environment: runs on the engine handed over by imagin.migrations."""

from alembic import context

import imagin.models  # noqa: F401  (registers every table on Base.metadata)
from imagin.db import Base, write_intent

engine = context.config.attributes["engine"]
write_intent.set(True)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
