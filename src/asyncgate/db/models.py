"""Imports every table module so ``Base.metadata`` is complete (for Alembic and tests)."""

from asyncgate.asyncreq import models as async_request_models  # noqa: F401
from asyncgate.asyncreq.queue import inbox as async_request_inbox  # noqa: F401
from asyncgate.auth import models as auth_models  # noqa: F401
from asyncgate.billing.accounts import models as account_models  # noqa: F401
from asyncgate.billing.catalog import models as catalog_models  # noqa: F401
from asyncgate.billing.contacts import models as contact_models  # noqa: F401
from asyncgate.billing.invoices import models as invoice_models  # noqa: F401
from asyncgate.billing.orders import models as order_models  # noqa: F401
from asyncgate.billing.subscriptions import models as subscription_models  # noqa: F401
from asyncgate.console import models as console_models  # noqa: F401
from asyncgate.db import sequences  # noqa: F401
from asyncgate.db.base import Base
from asyncgate.http import (
    idempotency,  # noqa: F401
    limit_store,  # noqa: F401
)
from asyncgate.notifications import models as notification_models  # noqa: F401
from asyncgate.notifications import outbox  # noqa: F401

metadata = Base.metadata
