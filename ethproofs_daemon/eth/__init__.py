"""The one Ethereum data model, shared by the witness code and the ethrex input codec (pure).

Everything the node's JSON becomes once it is parsed at the RPC edge, and the encodings both sides
need. A leaf package: it imports nothing else from ``ethproofs_daemon`` but ``hashing``; the
guest-input codec (``inputs``) and the witness code (``witness``) both build on it.

- ``json``: ``JsonValue``, the shape of decoded JSON (only edges hold it).
- ``errors``: ``InputError(field, reason)``, raised by the strict (ethrex serde) readers.
- ``types``: block, header, transaction and withdrawal values (lambdaclass/ethrex@891528d field
  order).
- ``witness``: ``ExecutionWitness`` (state nodes, codes, keys, RLP headers) and its wire parser.
- ``rlp``: pyrlp plus the strict (ethrex rules) readers, the fast trie-node scanner and the
  header RLP.
- ``mpt``: the Merkle-Patricia trie: hex-prefix paths, strict node and account decoding, and
  py-trie's ``HexaryTrie`` for lookups and partial-trie updates.
"""
