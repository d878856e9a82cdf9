"""Notification values and their Block Kit form (ethproofs-api.md §2(g))."""

from __future__ import annotations

import json

from ethproofs_daemon.outbox import ReportKind
from ethproofs_daemon.reporting import events
from ethproofs_daemon.reporting.events import EventKind, HostInfo
from ethproofs_daemon.reporting.notices import BlockNoted

HOST = HostInfo(hostname="box1", gpu="NVIDIA GeForce RTX 5090", cpu="AMD EPYC", ram="62.7 GiB")


def test_headlines_match_the_original_client() -> None:
    assert events.input_generation_failed(5, "witness_fetch", "x").headline == (
        ":warning: Block 5 input generation failed."
    )
    assert events.proof_failed(5, "x").headline == ":warning: Block 5 proof generation failed."
    assert events.proof_data_unreadable(5, "x").headline == (
        ":warning: Block 5 proof data read failed."
    )
    assert events.ethproofs_request_failed(5, ReportKind.PROVING, "x").headline == (
        ":warning: Block 5 EthProofs proving request failed."
    )
    assert events.proof_submitted(5, 83_456).headline == (
        ":white_check_mark: Block 5 proved and submitted to EthProofs."
    )
    assert events.rpc_down("http://node:8545", 0, "x").headline == (
        ":x: ETH RPC down: http://node:8545"
    )
    assert events.rpc_recovered("http://node:8545", 0, 1).headline == (
        ":white_check_mark: ETH RPC recovered: http://node:8545"
    )


def test_proving_time_is_seconds_with_two_decimals() -> None:
    assert events.proof_submitted(5, 83_456).field("Proving time") == "83.46s"


def test_block_events_get_gas_tx_and_host_fields() -> None:
    ev = events.with_context(events.proof_failed(5, "exit 1"), BlockNoted(5, 21_000, 3), HOST)
    assert ev.field("Reason") == "exit 1"
    assert ev.field("Gas used") == "21,000"
    assert ev.field("Tx count") == "3"
    assert (ev.field("GPU"), ev.field("CPU"), ev.field("RAM")) == (
        "NVIDIA GeForce RTX 5090",
        "AMD EPYC",
        "62.7 GiB",
    )


def test_unknown_facts_and_absent_gpu_are_shown_as_such() -> None:
    ev = events.with_context(events.proof_failed(5, "x"), None, HostInfo())
    assert ev.field("Gas used") == "unknown"
    assert ev.field("GPU") == "none"


def test_rpc_events_have_no_block_fields_and_redact_the_url() -> None:
    down = events.rpc_down(
        "https://user:pw@eth.example.com/v2/SECRETKEY?x=1", 1_700_000_000, "refused"
    )
    assert "SECRETKEY" not in json.dumps(down.fields) + down.headline
    assert "pw" not in down.headline
    assert down.field("RPC URL") == "https://eth.example.com"
    assert down.field("Down since") == "2023-11-14 22:13:20 UTC"
    ev = events.with_context(down, None, HOST)
    assert ev.field("Gas used") is None and ev.field("GPU") is not None


def test_recovered_reports_downtime() -> None:
    ev = events.rpc_recovered("http://n", 1000.0, 1000.0 + 3725.0)
    assert ev.field("Downtime") == "1h 02m 05s"


def test_durations() -> None:
    assert events.format_duration(45.9) == "45s"
    assert events.format_duration(65) == "1m 05s"
    assert events.format_duration(90061) == "1d 01h 01m 01s"


def test_block_kit_shape_with_backticked_values() -> None:
    ev = events.with_context(events.input_generation_failed(7, "build", "bad `rlp`"), None, HOST)
    doc = json.loads(events.block_kit_json(ev))
    header, section = doc["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": ev.headline, "emoji": True},
    }
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    lines = section["text"]["text"].split("\n")
    assert lines[0] == "*Step:* `build`"
    assert lines[1] == "*Reason:* `bad 'rlp'`"
    assert doc["text"] == ev.headline


def test_long_values_are_clipped_to_slack_limits() -> None:
    ev = events.proof_failed(7, "e" * 10_000)
    doc = json.loads(events.block_kit_json(ev))
    assert len(doc["blocks"][1]["text"]["text"]) <= events.SECTION_MAX


def test_suppressed_summary_counts_by_kind() -> None:
    evs = [events.proof_failed(i, "x") for i in range(3)] + [events.rpc_down("http://n", 0, "e")]
    s = events.suppressed_summary(evs)
    assert s.kind is EventKind.SUPPRESSED
    assert s.headline == ":mute: 4 more notifications suppressed (rate limit)"
    assert s.field("proof_failed") == "3"
    assert s.field("Last") == ":x: ETH RPC down: http://n"


def test_node_text_cannot_mention_the_channel_or_carry_a_link() -> None:
    ev = events.proof_failed(7, "<!channel> see <http://evil.example|docs> & more")
    doc = json.loads(events.block_kit_json(ev))
    section = doc["blocks"][1]["text"]["text"]
    assert section == ("*Reason:* `&lt;!channel&gt; see &lt;http://evil.example|docs&gt; "
                       "&amp; more`")
    assert "<" not in section and ">" not in section
