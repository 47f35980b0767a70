"""Support and CME staff views."""
