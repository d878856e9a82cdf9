"""Chain following: the node's JSON-RPC client, head following, targets, input generation."""
