"""Guest input building: ethrex ``ProgramInput`` in rkyv 0.8 from typed values, guest profiles, CLI.

The codec is pure and independent of the node: it takes the typed values of ``eth`` (block,
witness) and imports nothing from ``node`` or ``witness``.
Modules: ``rkyv`` (general writer/validating reader), ``types`` + ``schema`` (ethrex@891528d
types and their archived layout), ``hexjson`` (ethrex serde field rules), ``trie`` (the rkyv
``Node`` layout: embedding, lookups, hashing), ``rpc_block``/``rpc_witness`` (node JSON and the
node's witness → typed values), ``chain_config``, ``checks``,
``profiles``, ``build``, ``external``, ``summary``, ``commands``.
Format: ``../shared/docs/ethrex-input.md``.
"""
