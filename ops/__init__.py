"""What operators run: the tunnel, database copies, locked migrations, file purges."""
