"""ethproofs-daemon."""
