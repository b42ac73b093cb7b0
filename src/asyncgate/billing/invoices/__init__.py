"""Invoices: the billing arithmetic, and the invoices bill runs store.

The arithmetic (``periods``, ``rating``, ``billrun``, ``metrics``, ``preview``, ``money``) is
pure functions over frozen dataclasses, free of the database and of HTTP: the order and
subscription services map their rows onto ``charges.Charge`` and store what comes back
(``models``, ``service``, ``routes``). The rules are written down in ``docs/billing-rules.md``.
"""
