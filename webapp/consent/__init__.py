"""Consent to share credit, and the identifiers PARS needs."""
