"""Command-line interface: thin layers over the library (no formulas live here)."""
