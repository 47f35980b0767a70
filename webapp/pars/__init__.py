"""The PARS delivery engine."""
