"""Stand-ins for things that cannot run here (cargo-zisk, EthProofs API, Slack).

Each follows its documented contract in ``../shared/docs/`` exactly, failure modes included.
"""
