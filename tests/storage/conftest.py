"""Storage tests use the backend-parametrized `db` fixture of tests/conftest.py."""
