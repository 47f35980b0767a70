"""Reports of missing or wrong credit from physicians, and staff answers."""
