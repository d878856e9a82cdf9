"""Route labels of the request counter stay bounded (no roots or ids as label values)."""

from __future__ import annotations

from ethproofs_daemon.app import PROOF_NODE_ROUTES
from ethproofs_daemon.http.request_metrics import route_label


def test_paths_map_to_their_route_templates() -> None:
    root = "0x" + "ab" * 32
    assert route_label(f"/v1/execution_proofs/{root}/ethrex-zisk", PROOF_NODE_ROUTES) == (
        "/v1/execution_proofs")
    assert route_label("/v1/execution_proof_requests", PROOF_NODE_ROUTES) == (
        "/v1/execution_proof_requests")
    assert route_label("/v1/execution_proof_requestsX", PROOF_NODE_ROUTES) == "other"
    assert route_label(f"/{root}", PROOF_NODE_ROUTES) == "other"
