"""Django's PostgreSQL backend with two hot-path costs taken out (see base.py)."""
