"""``python -m asyncgate``: the ``asyncgate`` command (how ``serve`` starts its worker process)."""

from asyncgate.cli import app

app(prog_name="asyncgate")
