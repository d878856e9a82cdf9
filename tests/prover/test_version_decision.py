"""The pure start-up decision of issue 11: an installed cargo-zisk version × the guest profile
→ ok, or the reason it is refused (``zisk_cli.decide_version``), and the exit status a failed
tree maps to (``supervisor.fatal_exit_status``)."""

from __future__ import annotations

import pytest

from ethproofs_daemon.prover.backend import ProverMisconfigured
from ethproofs_daemon.prover.zisk_cli import (
    VersionVerdict,
    ZiskSeries,
    ZiskVersion,
    decide_version,
    series_of,
)
from ethproofs_daemon.supervisor import Fatal, SupervisorFailed, fatal_exit_status

P014 = ("ethrex-24d4b6404-zisk-0.14.0", "0.14.0")
P016 = ("ethrex-c5de3bd-zisk-0.16.1", "0.16.1")
P1X = ("zec-reth", "1.1.0-alpha")


def _decide(version: ZiskVersion, profile: tuple[str, str]) -> VersionVerdict:
    return decide_version(version, profile_name=profile[0],
                          profile_zisk_version=profile[1]).verdict


@pytest.mark.parametrize(
    ("major", "minor", "series"),
    [(0, 14, ZiskSeries.V0_14), (0, 15, ZiskSeries.V0_14), (0, 16, ZiskSeries.V0_16),
     (0, 17, ZiskSeries.V0_17), (0, 18, ZiskSeries.V0_17), (1, 3, ZiskSeries.V1),
     (0, 13, None), (0, 19, None), (2, 0, None)],
)
def test_every_release_belongs_to_its_series_or_none(
    major: int, minor: int, series: ZiskSeries | None
) -> None:
    assert series_of(major, minor) is series


@pytest.mark.parametrize(
    ("version", "profile", "verdict"),
    [
        (ZiskVersion(0, 14, 0), P014, VersionVerdict.OK),
        (ZiskVersion(0, 14, 7), P014, VersionVerdict.OK),
        (ZiskVersion(0, 15, 0), P014, VersionVerdict.OK),  # one series with 0.14
        (ZiskVersion(2, 0, 0), P014, VersionVerdict.UNKNOWN_SERIES),
        (ZiskVersion(0, 13, 2), P014, VersionVerdict.UNKNOWN_SERIES),
        (ZiskVersion(0, 16, 1), P014, VersionVerdict.PROFILE_MISMATCH),
        (ZiskVersion(0, 16, 1), P016, VersionVerdict.OK),
        (ZiskVersion(0, 18, 0), P014, VersionVerdict.PROFILE_MISMATCH),
        (ZiskVersion(1, 1, 0, prerelease="alpha"), P014, VersionVerdict.PROFILE_MISMATCH),
        (ZiskVersion(1, 3, 1, prerelease="alpha"), P1X, VersionVerdict.OK),
        (ZiskVersion(0, 18, 0), P1X, VersionVerdict.PROFILE_MISMATCH),
        (ZiskVersion(0, 14, 0), P016, VersionVerdict.PROFILE_MISMATCH),
    ],
)
def test_version_and_profile_decide_ok_or_the_reason(
    version: ZiskVersion, profile: tuple[str, str], verdict: VersionVerdict
) -> None:
    assert _decide(version, profile) is verdict


def test_an_ok_decision_has_no_message() -> None:
    decision = decide_version(ZiskVersion(0, 14, 0), profile_name=P014[0],
                              profile_zisk_version=P014[1])
    assert decision.ok and decision.message == ""


def test_the_refusal_names_version_line_supported_versions_and_profile() -> None:
    raw = "cargo-zisk 1.1.0-alpha [gpu] (abc 2026-09-01)"
    decision = decide_version(ZiskVersion(1, 1, 0, raw=raw, prerelease="alpha"),
                              profile_name=P014[0], profile_zisk_version=P014[1])
    assert not decision.ok
    assert "cargo-zisk 1.1.0-alpha" in decision.message and raw in decision.message
    assert "0.14.x/0.15.x, 0.16.x, 0.17.x/0.18.x, 1.x" in decision.message
    assert P014[0] in decision.message and "ZisK 0.14.0" in decision.message
    assert "does not match" in decision.message


def test_an_unknown_release_is_named_as_such() -> None:
    decision = decide_version(ZiskVersion(2, 0, 0, raw="cargo-zisk 2.0.0 [gpu] (x y)"),
                              profile_name=P1X[0], profile_zisk_version=P1X[1])
    assert decision.verdict is VersionVerdict.UNKNOWN_SERIES
    assert "does not know" in decision.message and "2.0.0" in decision.message


def test_a_profile_version_that_is_not_a_release_is_a_mismatch() -> None:
    assert _decide(ZiskVersion(0, 14, 0), ("odd", "latest")) is VersionVerdict.PROFILE_MISMATCH


def test_a_misconfigured_prover_maps_to_exit_2_through_nested_supervisors() -> None:
    inner = SupervisorFailed("child_tree", "prover", "failed to start")
    inner.__cause__ = ProverMisconfigured("cargo-zisk 2.0.0 ...")
    outer = SupervisorFailed("root", "child_tree", "failed")
    outer.__cause__ = inner
    assert fatal_exit_status(outer) == 2


def test_other_failures_map_to_exit_1() -> None:
    plain = SupervisorFailed("root", "prover", "fatal")
    plain.__cause__ = Fatal("cargo-zisk not found")
    assert fatal_exit_status(plain) == 1
    assert fatal_exit_status(SupervisorFailed("root", "http", "intensity")) == 1
    assert fatal_exit_status(None) == 1


def test_a_fatal_in_an_exception_group_keeps_its_exit_status() -> None:
    group = ExceptionGroup("children", [ValueError("x"), Fatal("config", exit_status=2)])
    failed = SupervisorFailed("root", "prover", "failed")
    failed.__cause__ = group
    assert fatal_exit_status(failed) == 2
