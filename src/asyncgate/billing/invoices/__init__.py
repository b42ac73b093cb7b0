"""Billing arithmetic: billing periods, charge amounts, proration, invoices and charge metrics.

Pure functions over frozen dataclasses, free of the database and of HTTP: the order and
subscription services map their rows onto ``charges.Charge`` and store what comes back.
The rules are written down in ``docs/billing-rules.md``.
"""
