"""Execution witnesses: fetching (typed, ``source``), synthesis from traces and proofs, checks.

The witness model itself (``ExecutionWitness``, its wire parser) is ``eth.witness``.
"""
