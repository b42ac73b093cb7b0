from tests.http.probe import probe, probe_app  # noqa: F401  (fixtures)
