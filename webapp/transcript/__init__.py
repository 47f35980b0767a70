"""The physician's credits and the delivery status of each."""
