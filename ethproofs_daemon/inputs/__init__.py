"""Guest input building: ethrex ``ProgramInput`` in rkyv 0.8 from node JSON, guest profiles, CLI.

Modules: ``rkyv`` (general writer/validating reader), ``types`` + ``schema`` (ethrex@891528d
types and their archived layout), ``hexjson``/``rlp``/``trie`` (decoding helpers),
``rpc_block``/``rpc_witness`` (node JSON → typed values), ``chain_config``, ``checks``,
``profiles``, ``build``, ``external``, ``summary``, ``commands``.
Format: ``../shared/docs/ethrex-input.md``.
"""
