"""Command-line interface (``gaitpf ...``): one module per command, loaded lazily."""
