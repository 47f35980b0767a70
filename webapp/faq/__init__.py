"""FAQ content: loading, rendering, search."""
