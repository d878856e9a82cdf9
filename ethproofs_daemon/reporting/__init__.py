"""Reporting: the EthProofs API client, the outbox reporter actor, operator notifications.

- ``outbox``: what the reporter needs from the store (``Outbox``; the rows: ``..outbox``).
- ``payloads``: the JSON bodies of ``POST /proofs/{queued,proving,proved}`` (pure).
- ``replies``: what an HTTP reply means (delivered, retry, rejected) and ``Retry-After`` (pure).
- ``ethproofs``: ``EthProofsClient`` and its errors (``Retryable``, ``Rejected``); 409 = done.
- ``reporter``: the ``Reporter`` actor draining the outbox, per block in order.
- ``events``, ``ratelimit``, ``rpc_health``, ``host``: notification values and Block Kit (pure),
  the coalescing token bucket, the "RPC down/recovered" rule, the host's GPU/CPU/RAM.
- ``notices``: typed notices and the one-method ``Notifier`` / ``NullNotifier`` actors depend on.
- ``slack``: ``SlackNotifier``, which sends notices to a Slack incoming webhook.
"""
