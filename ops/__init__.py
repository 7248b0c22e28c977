"""What operators and developers run: tunnel, copies, migrations, purges, demo data."""
