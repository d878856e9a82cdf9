"""Reporting: the EthProofs API client, the outbox reporter actor, operator notifications.

- ``outbox``: what the reporter needs from the store (``Outbox``; the rows: ``..outbox``).
- ``payloads``: the JSON bodies of ``POST /proofs/{queued,proving,proved}`` (pure).
- ``ethproofs``: ``EthProofsClient`` and its errors (``Retryable``, ``Rejected``); 409 = done.
- ``reporter``: the ``Reporter`` actor draining the outbox, per block in order.
- ``events``, ``ratelimit``, ``rpc_health``, ``host``: notification values and Block Kit (pure),
  the coalescing token bucket, the "RPC down/recovered" rule, the host's GPU/CPU/RAM.
- ``slack``: the ``Notifier`` interface, ``NullNotifier``, ``SlackNotifier``.
"""
