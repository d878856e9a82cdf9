"""Guest input building: ethrex ``ProgramInput`` in rkyv 0.8 from typed values, guest profiles, CLI.

The codec (conversion, checks, rkyv encoding) is pure and independent of the node: it takes the
typed values of ``eth`` (block, witness), and the package imports nothing from ``node`` or
``witness``. File and process I/O stays at the edges: ``profiles`` (manifest, ELF),
``chain_config_by_name`` (genesis file), ``commands`` (CLI); the external builder process is
``node.external_builder``.
Modules: ``rkyv`` + ``rkyv_btree`` (general writer/validating reader), ``types`` + ``schema``
(ethrex@891528d types and their archived layout), ``trie_archive`` (fast writer for the trie
``Node``), ``hexjson`` (ethrex serde field rules), ``trie`` (the rkyv ``Node`` layout: embedding,
lookups, hashing), ``rpc_block``/``rpc_witness`` (node JSON and the node's witness → typed
values), ``typed_json`` (the golden vectors' JSON form), ``chain_config``, ``checks``,
``profiles``, ``build``, ``summary``, ``commands``, ``errors``.
Format: what the input-generator NIF of
lambdaclass/ethrex-ethproofs@b45cda3:native/ethrex_ethproofs_input_generator/src/lib.rs writes,
``rkyv::to_bytes`` (rkyv 0.8.12, features ``std``, ``unaligned``) of ``ProgramInput`` at
lambdaclass/ethrex@891528d (``crates/l2/prover/src/guest_program/src/input.rs``).
"""
