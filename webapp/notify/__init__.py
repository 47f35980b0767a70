"""E-mail notices to physicians and CME staff (``flask notify send``)."""
