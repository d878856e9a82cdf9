"""Fuzz targets: one per untrusted input of the daemon (issue 14).

Each target module (``fuzz/<target>.py``) holds a ``TARGET`` (``runner.Target``): a hypothesis
strategy of inputs and an async check that feeds one input to the daemon's real entry point and
fails on anything but the documented outcome. Run one by hand with
``python -m fuzz.<target> --cases 10000``; ``tests/test_fuzz_smoke.py`` runs every target with a
few hundred cases. ``fuzz/README.md`` lists the targets, what each asserts and measured figures.

Support modules: ``runner`` (the command line and the hypothesis run), ``mutation`` (JSON and
byte mutation of real-looking values), ``seeds`` (real chain data from ``../shared/fixtures``
when present, and structured generators of valid values), ``fake_node`` (a JSON-RPC node behind
``httpx.MockTransport`` answering fuzzed replies).
"""

#: Every target module, in the order the smoke test and the README list them.
TARGETS = (
    "node_head",
    "node_block",
    "node_witness",
    "node_prestate",
    "node_proof",
    "proofnode_ssz",
    "admin_api",
    "ethproofs_replies",
)
