"""Execution witnesses: the wire model, fetching, synthesis from traces and proofs, verification."""
