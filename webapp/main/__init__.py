"""Pages that belong to no feature: the home page."""
