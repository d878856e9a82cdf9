"""Settings from the environment and flags: defaults, overrides, every error reported at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ethproofs_daemon.config import ConfigError, ProverBackendKind, load_settings, mask_url
from ethproofs_daemon.demo.anvil import ANVIL_GENESIS_CONFIG


def test_defaults_match_the_original_client_and_the_issue() -> None:
    s = load_settings({})
    assert s.health_port == 4000
    assert s.prover_stuck_threshold_seconds == 3600
    assert s.block_interval == 100
    assert s.poll_interval_seconds == 2
    assert s.cargo_zisk == "cargo-zisk"
    assert not s.ethproofs_enabled


def test_flags_override_environment() -> None:
    s = load_settings({"HEALTH_PORT": "4000"}, {"HEALTH_PORT": 4100, "BLOCK_INTERVAL": None})
    assert s.health_port == 4100
    assert s.block_interval == 100


def test_all_problems_are_reported_together_with_variable_names() -> None:
    env = {
        "HEALTH_PORT": "not-a-port",
        "BLOCK_INTERVAL": "0",
        "POLL_INTERVAL_SECONDS": "-1",
        "ZISK_ACTION": "fly",
        "ETHPROOFS_API_KEY": "s3cret-key",
        "ETH_RPC_URL": "ftp://node",
    }
    with pytest.raises(ConfigError) as info:
        load_settings(env, for_run=True)
    text = str(info.value)
    for name in ("HEALTH_PORT", "BLOCK_INTERVAL", "POLL_INTERVAL_SECONDS", "ZISK_ACTION",
                 "ETH_RPC_URL", "ETHPROOFS_RPC_URL, ETHPROOFS_CLUSTER_ID", "ELF_PATH"):
        assert name in text, name
    assert "s3cret-key" not in text


def test_run_needs_rpc_elf_and_cargo_zisk(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"CARGO_ZISK": str(tmp_path / "nope"),
                       "ELF_PATH": str(tmp_path / "missing.elf")}, for_run=True)
    problems = "\n".join(info.value.problems)
    assert "ETH_RPC_URL: required" in problems
    assert "ELF_PATH: no such file" in problems
    assert "CARGO_ZISK" in problems


def test_simulated_backend_needs_no_elf() -> None:
    s = load_settings({"ETH_RPC_URL": "http://127.0.0.1:8545", "PROVER_BACKEND": "simulated"},
                      for_run=True)
    assert s.prover_backend is ProverBackendKind.SIMULATED


def test_secrets_are_not_shown_in_repr() -> None:
    s = load_settings({"ETHPROOFS_RPC_URL": "https://api.example/api/v0/",
                       "ETHPROOFS_API_KEY": "k-123", "ETHPROOFS_CLUSTER_ID": "7"})
    assert s.ethproofs_enabled
    assert s.ethproofs_rpc_url == "https://api.example/api/v0"
    assert "k-123" not in repr(s)


def test_elf_that_does_not_match_the_guest_profile_is_refused(tmp_path: Path) -> None:
    elf = tmp_path / "some-other-guest.elf"
    elf.write_bytes(b"\x7fELF not the profile's guest")
    env = {"ETH_RPC_URL": "http://127.0.0.1:8545", "ELF_PATH": str(elf), "CARGO_ZISK": "sh"}
    with pytest.raises(ConfigError, match=r"ELF_PATH: .*ALLOW_UNKNOWN_ELF"):
        load_settings(env, for_run=True)
    accepted = load_settings({**env, "ALLOW_UNKNOWN_ELF": "1"}, for_run=True)
    assert accepted.allow_unknown_elf


def test_unknown_guest_profile_is_refused(tmp_path: Path) -> None:
    elf = tmp_path / "g.elf"
    elf.write_bytes(b"\x7fELF")
    env = {"ETH_RPC_URL": "http://127.0.0.1:8545", "ELF_PATH": str(elf), "CARGO_ZISK": "sh",
           "GUEST_PROFILE": "no-such-guest"}
    with pytest.raises(ConfigError, match="GUEST_PROFILE: unknown guest profile"):
        load_settings(env, for_run=True)


def _simulated_run(tmp_path: Path, **env: str) -> dict[str, str]:
    return {"ETH_RPC_URL": "http://127.0.0.1:8545", "PROVER_BACKEND": "simulated",
            "STATE_DIR": str(tmp_path / "state"), **env}


def test_chain_proof_types_builder_and_state_dir_are_checked_before_start(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = _simulated_run(
        tmp_path,
        CHAIN="moonnet",
        PROOF_NODE_PROOF_TYPES="ethrex-zisk,sp1-magic",
        EXTERNAL_INPUT_BUILDER="ethrex-replay --block {block} --out {output_path}",
        STATE_DIR=str(blocker),
    )
    with pytest.raises(ConfigError) as info:
        load_settings(env, for_run=True)
    problems = "\n".join(info.value.problems)
    assert "CHAIN: 'moonnet' is neither" in problems
    assert "PROOF_NODE_PROOF_TYPES: unknown proof type(s) ['sp1-magic']" in problems
    assert "EXTERNAL_INPUT_BUILDER: bad argv template" in problems
    assert f"STATE_DIR: {blocker} exists and is not a directory" in problems


def test_builder_template_with_the_documented_placeholders_is_accepted(tmp_path: Path) -> None:
    template = "ethrex-replay --block {block_number} --rpc {rpc_url} --out {output_path}"
    s = load_settings(_simulated_run(tmp_path, EXTERNAL_INPUT_BUILDER=template), for_run=True)
    assert s.external_input_builder == template


def test_a_guest_profile_without_a_built_in_codec_needs_the_external_builder(
    tmp_path: Path,
) -> None:
    env = _simulated_run(tmp_path, GUEST_PROFILE="ethrex-c5de3bd-zisk-0.16.1")
    with pytest.raises(ConfigError) as info:
        load_settings(env, for_run=True)
    assert any(p.startswith("EXTERNAL_INPUT_BUILDER: required by GUEST_PROFILE=ethrex-c5de3bd")
               for p in info.value.problems)


@pytest.mark.parametrize("url", ["https://ethproofs.org/api/v0", "http://10.0.0.7:3000/api/v0",
                                 "http://127.0.0.1.example.com/api/v0"])
def test_placeholder_proofs_never_go_to_a_non_loopback_ethproofs(tmp_path: Path, url: str) -> None:
    env = _simulated_run(tmp_path, ETHPROOFS_RPC_URL=url, ETHPROOFS_API_KEY="k",
                         ETHPROOFS_CLUSTER_ID="1")
    with pytest.raises(ConfigError) as info:
        load_settings(env, for_run=True)
    assert any(p.startswith("PROVER_BACKEND, ETHPROOFS_RPC_URL:") for p in info.value.problems)


@pytest.mark.parametrize("url", ["http://127.0.0.1:3000/api/v0", "http://localhost:3000/api/v0",
                                 "http://[::1]:3000/api/v0"])
def test_placeholder_proofs_may_go_to_a_loopback_stand_in(tmp_path: Path, url: str) -> None:
    env = _simulated_run(tmp_path, ETHPROOFS_RPC_URL=url, ETHPROOFS_API_KEY="k",
                         ETHPROOFS_CLUSTER_ID="1")
    assert load_settings(env, for_run=True).ethproofs_enabled


KEYED_RPC = "https://eth-mainnet.example.com:8443/v2/k3y-in-path?apikey=k3y-in-query"


def test_config_output_masks_the_rpc_url_key() -> None:
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env.update({"ETH_RPC_URL": KEYED_RPC, "ADMIN_TOKEN": "t0ken"})
    out = subprocess.run([sys.executable, "-m", "ethproofs_daemon", "config"], env=env,
                         capture_output=True, text=True, timeout=60, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    assert "ETH_RPC_URL=https://eth-mainnet.example.com:8443/…" in out.splitlines()
    assert "k3y" not in out and "t0ken" not in out


def test_config_errors_mask_the_rpc_url_key() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"ETH_RPC_URL": "wss://user:k3y@node.example/k3y"})
    text = str(info.value)
    assert "ETH_RPC_URL" in text and "wss://node.example/…" in text and "k3y" not in text


@pytest.mark.parametrize(("url", "shown"), [
    ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
    ("https://node.example/", "https://node.example"),
    ("https://node.example/v3/abc", "https://node.example/…"),
    ("https://node.example?key=abc", "https://node.example/…"),
    ("http://[::1]:8545/abc", "http://[::1]:8545/…"),
    ("not a url", "***"),
])
def test_mask_url_keeps_scheme_host_and_port_only(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_admin_hosts_default_to_loopback_and_a_specific_health_host() -> None:
    assert load_settings({}).admin_hosts == {"localhost", "127.0.0.1", "::1"}
    assert load_settings({"HEALTH_HOST": "10.0.0.5"}).admin_hosts == {
        "localhost", "127.0.0.1", "::1", "10.0.0.5"}
    given = load_settings({"ADMIN_ALLOWED_HOSTS": "Prover.Example, [fd00::1]"})
    assert given.admin_hosts == {"prover.example", "fd00::1"}


def test_proof_node_api_binds_loopback_by_default_with_sized_limits() -> None:
    s = load_settings({})
    assert s.proof_node_host == "127.0.0.1"
    assert s.proof_node_token is None
    assert s.proof_node_max_body_bytes == 16 * 1024 * 1024
    assert s.proof_node_max_subscribers == 256


def test_proof_node_token_is_not_shown_in_repr() -> None:
    s = load_settings({"PROOF_NODE_TOKEN": "pn-secret-1", "PROOF_NODE_HOST": "0.0.0.0"})
    assert s.proof_node_host == "0.0.0.0"
    assert s.proof_node_token is not None
    assert s.proof_node_token.get_secret_value() == "pn-secret-1"
    assert "pn-secret-1" not in repr(s)


def test_proof_node_limits_must_be_positive() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"PROOF_NODE_MAX_BODY_BYTES": "0", "PROOF_NODE_MAX_SUBSCRIBERS": "0"})
    assert "PROOF_NODE_MAX_BODY_BYTES" in str(info.value)
    assert "PROOF_NODE_MAX_SUBSCRIBERS" in str(info.value)


@pytest.mark.parametrize("chain", ["hoodi", "sepolia"])
def test_zec_reth_on_a_chain_without_a_confirmed_guest_configuration_is_refused(
    tmp_path: Path, chain: str
) -> None:
    # ../shared/docs/guest-zec-reth.md: only mainnet's chain configuration is confirmed
    env = _simulated_run(tmp_path, GUEST_PROFILE="zec-reth", CHAIN=chain)
    with pytest.raises(ConfigError) as info:
        load_settings(env, for_run=True)
    assert any(p.startswith("CHAIN, GUEST_PROFILE:") and "unconfirmed" in p
               for p in info.value.problems)
    allowed = load_settings({**env, "ALLOW_UNCONFIRMED_CHAIN_CONFIG": "1"}, for_run=True)
    assert allowed.allow_unconfirmed_chain_config is True


def test_zec_reth_on_a_dev_chain_names_a_profile_that_builds_for_it(tmp_path: Path) -> None:
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps({"config": ANVIL_GENESIS_CONFIG}))
    env = _simulated_run(tmp_path, GUEST_PROFILE="zec-reth", CHAIN=str(genesis))
    with pytest.raises(ConfigError) as info:
        load_settings(env, for_run=True)
    problem = next(p for p in info.value.problems if p.startswith("CHAIN, GUEST_PROFILE:"))
    assert "31337" in problem and "ethrex-24d4b6404-zisk-0.14.0" in problem


def test_a_proof_type_whose_input_the_proof_node_guest_cannot_read_is_refused(
    tmp_path: Path,
) -> None:
    env = _simulated_run(tmp_path, PROOF_NODE_PORT="3000", PROOF_NODE_PROOF_TYPES="ethrex-zisk",
                         PROOF_NODE_GUEST_PROFILE="stateless-reth")
    with pytest.raises(ConfigError) as info:
        load_settings(env, for_run=True)
    problem = next(p for p in info.value.problems if p.startswith("PROOF_NODE_PROOF_TYPES, "))
    assert "ethrex-zisk" in problem and "stateless-reth" in problem
    assert "ethrex-eip8025" in problem and "stateless-ssz" in problem


def test_a_proof_type_without_a_guest_input_here_is_refused(tmp_path: Path) -> None:
    env = _simulated_run(tmp_path, PROOF_NODE_PORT="3000", PROOF_NODE_PROOF_TYPES="reth-zisk")
    with pytest.raises(ConfigError) as info:
        load_settings(env, for_run=True)
    assert any("reth-zisk" in p and "none this daemon builds" in p for p in info.value.problems)


def test_the_proof_node_guest_must_run_on_the_same_cargo_zisk(tmp_path: Path) -> None:
    elf = tmp_path / "zec-reth.elf"
    elf.write_bytes(b"\x7fELF")
    exe = tmp_path / "cargo-zisk"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    env = {"ETH_RPC_URL": "http://127.0.0.1:8545", "STATE_DIR": str(tmp_path / "state"),
           "ELF_PATH": str(elf), "ALLOW_UNKNOWN_ELF": "1", "CARGO_ZISK": str(exe),
           "PROOF_NODE_PORT": "3000"}  # zec-reth (1.1.0-alpha) and the 0.16.1 EIP-8025 guest
    with pytest.raises(ConfigError) as info:
        load_settings(env, for_run=True)
    problem = next(p for p in info.value.problems if p.startswith("PROOF_NODE_GUEST_PROFILE:"))
    assert "0.16.1" in problem and "1.1.0-alpha" in problem


def test_the_stateless_guest_is_refused_off_mainnet(tmp_path: Path) -> None:
    env = _simulated_run(tmp_path, GUEST_PROFILE="stateless-reth", CHAIN="hoodi")
    with pytest.raises(ConfigError) as info:
        load_settings(env, for_run=True)
    assert any(p.startswith("CHAIN, GUEST_PROFILE: stateless-reth") for p in info.value.problems)
    assert load_settings(_simulated_run(tmp_path, GUEST_PROFILE="stateless-reth"), for_run=True)


def _coordinator_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    elf = tmp_path / "guest.elf"
    elf.write_bytes(b"\x7fELF")
    return {"ETH_RPC_URL": "http://127.0.0.1:8545", "PROVER_BACKEND": "zisk-coordinator",
            "ELF_PATH": str(elf), "ALLOW_UNKNOWN_ELF": "1", "STATE_DIR": str(tmp_path / "s"),
            "CARGO_ZISK": str(tmp_path / "absent-cargo-zisk"), **extra}


def test_the_coordinator_backend_needs_no_cargo_zisk_and_has_documented_defaults(
    tmp_path: Path,
) -> None:
    s = load_settings(_coordinator_env(tmp_path), for_run=True)
    assert s.prover_backend is ProverBackendKind.ZISK_COORDINATOR
    assert (s.zisk_coordinator_url, s.zisk_coordinator_version, s.max_concurrent_proofs) == (
        "http://127.0.0.1:7000", "1.1.0-alpha", 1)


def test_coordinator_misconfigurations_are_reported_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_coordinator_env(
            tmp_path, ZISK_ACTION="execute", ZISK_COORDINATOR_URL="https://coord:7000",
            ZISK_COORDINATOR_VERSION="one point one"), for_run=True)
    problems = "\n".join(info.value.problems)
    assert "ZISK_ACTION, PROVER_BACKEND: execute-only runs are not offered" in problems
    assert "ZISK_COORDINATOR_URL: must be http://host:port" in problems
    assert "ZISK_COORDINATOR_VERSION: not a ZisK version" in problems
    assert "CARGO_ZISK" not in problems


def test_several_proofs_in_flight_need_the_coordinator(tmp_path: Path) -> None:
    env = {**_coordinator_env(tmp_path), "PROVER_BACKEND": "zisk", "MAX_CONCURRENT_PROOFS": "4"}
    with pytest.raises(ConfigError) as info:
        load_settings(env, for_run=True)
    assert any(p.startswith("MAX_CONCURRENT_PROOFS:") for p in info.value.problems)
    accepted = load_settings({**env, "PROVER_BACKEND": "zisk-coordinator"}, for_run=True)
    assert accepted.max_concurrent_proofs == 4


def test_the_coordinator_backend_refuses_a_second_guest_for_the_proof_node(
    tmp_path: Path,
) -> None:
    env = _coordinator_env(tmp_path, PROOF_NODE_PORT="3000",
                           PROOF_NODE_ELF_PATH=str(tmp_path / "other.elf"))
    with pytest.raises(ConfigError) as info:
        load_settings(env, for_run=True)
    assert any(p.startswith("PROOF_NODE_ELF_PATH: the coordinator backend")
               for p in info.value.problems)


def test_eth_ws_url_must_be_a_websocket_url(tmp_path: Path) -> None:
    env = _simulated_run(tmp_path, ETH_WS_URL="http://127.0.0.1:8546")
    with pytest.raises(ConfigError) as info:
        load_settings(env, for_run=True)
    assert any(p.startswith("ETH_WS_URL:") for p in info.value.problems)
    ok = load_settings(_simulated_run(tmp_path, ETH_WS_URL="ws://127.0.0.1:8546"), for_run=True)
    assert ok.eth_ws_url == "ws://127.0.0.1:8546"
