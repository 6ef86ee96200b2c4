"""Market views of the main window (filled in as the views land)."""
