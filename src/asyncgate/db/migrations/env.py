from alembic import context
from sqlalchemy.engine import Connection

from asyncgate.db.models import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through asyncgate (`asyncgate migrate`), not the alembic CLI"
    )
run_migrations(connection)
