"""asyncgate: a Zuora-compatible billing API built around durable asynchronous requests."""

__version__ = "0.1.0"
