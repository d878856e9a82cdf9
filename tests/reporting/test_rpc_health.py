"""When "ETH RPC down" and "recovered" fire (pure tracker)."""

from __future__ import annotations

from ethproofs_daemon.reporting.rpc_health import RpcDown, RpcHealthTracker, RpcRecovered


def test_down_fires_once_after_sixty_seconds_of_failures() -> None:
    t = RpcHealthTracker("http://n")
    assert [t.failure(s, "refused") for s in (100.0, 130.0, 159.9)] == [None, None, None]
    assert t.failure(160.0, "timeout") == RpcDown("http://n", 100.0, "timeout")
    assert t.failure(300.0, "timeout") is None


def test_recovered_carries_the_downtime() -> None:
    t = RpcHealthTracker("http://n", threshold_s=60.0)
    t.failure(100.0, "x")
    t.failure(170.0, "x")
    rec = t.success(200.0)
    assert rec == RpcRecovered("http://n", 100.0, 200.0)
    assert rec is not None and rec.downtime_s == 100.0
    assert t.success(201.0) is None


def test_short_blip_says_nothing_and_resets() -> None:
    t = RpcHealthTracker("http://n")
    t.failure(0.0, "x")
    assert t.success(30.0) is None
    assert t.failure(50.0, "x") is None
    assert t.failure(100.0, "x") is None  # 50 s since the new first failure
    assert t.failure(110.0, "x") == RpcDown("http://n", 50.0, "x")
