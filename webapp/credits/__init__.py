"""Credit import from the provider's learning system, and demo data."""
