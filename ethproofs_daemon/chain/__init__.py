"""Chain following: the execution node's JSON-RPC, head follower, target selection, witnesses."""
