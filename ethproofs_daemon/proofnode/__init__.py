"""proofnode."""
