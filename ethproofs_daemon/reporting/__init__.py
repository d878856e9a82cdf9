"""Reporting: the EthProofs API client, the outbox reporter actor, Slack notifications."""
