"""CLI subcommands ``build-input`` and ``inspect-input`` (wired into the main CLI by ``register``).

``build-input --block BLOCK.json --witness WITNESS.json [--profile P]
[--chain mainnet|hoodi|sepolia|GENESIS.json] [--no-check] -o INPUT.bin``: the JSON files may hold
the bare result object, a whole JSON-RPC response, or (ethrex profiles) an ethrex-replay cache;
the profile's codec builds the file (``codecs.build_guest_input``: ethrex rkyv, zec-reth bincode,
stateless SSZ).
``inspect-input INPUT.bin [--profile P] [--json]``: validating read and summary of any of those
formats (frames, fields, counts, sizes).
Handlers return the exit code: 0 ok, 1 input error (one clear line on stderr).
Also runnable as ``python -m ethproofs_daemon.inputs.commands``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from .build import build_input, chain_config_by_name, unwrap_document
from .codecs import BlockData, build_guest_input
from .errors import InputError
from .profiles import DEFAULT_PROFILE_NAME, Codec, GuestProfile, get_profile, unframe
from .rpc_block import rpc_block_from_json
from .rpc_witness import read_rpc_witness
from .stateless_ssz import decode_stateless_input
from .summary import summarize_input
from .zec_reth import inspect_zec_reth_input


def _profile(args: argparse.Namespace) -> GuestProfile:
    manifest = Path(args.manifest) if args.manifest else None
    return get_profile(args.profile, manifest)


def _read_json(path: str, what: str) -> object:
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except OSError as exc:
        raise InputError(what, f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InputError(what, f"{path} is not valid JSON: {exc}") from None


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fail(exc: InputError) -> int:
    print(f"error: {exc.field}: {exc.reason}", file=sys.stderr)
    return 1


def handle_build_input(args: argparse.Namespace) -> int:
    """``build-input``: write the guest input file. Returns the exit code."""
    try:
        profile = _profile(args)
        chain = chain_config_by_name(args.chain)
        block = _read_json(args.block, "block")
        witness = _read_json(args.witness, "witness")
        if not isinstance(block, dict) or not isinstance(witness, dict):
            raise InputError("block" if not isinstance(block, dict) else "witness", "not an object")
        if profile.codec is Codec.ETHREX_891528D_RKYV:
            data = build_input(block, witness, profile, chain, check=not args.no_check)
        else:
            rpc_block = rpc_block_from_json(unwrap_document(block, "block")[0])
            typed_witness = read_rpc_witness(unwrap_document(witness, "witness")[0])
            data = build_guest_input(
                profile,
                BlockData(rpc_block.block, typed_witness, rpc_block.senders, rpc_block.hash),
                chain,
                allow_unconfirmed_chain=args.allow_unconfirmed_chain,
            )
        out = Path(args.output)
        try:
            _write_atomically(out, data)
        except OSError as exc:
            raise InputError("output", f"cannot write {out}: {exc.strerror or exc}") from None
    except InputError as exc:
        return _fail(exc)
    print(f"wrote {len(data)} bytes to {out} for profile {profile.name}")
    return 0


def handle_inspect_input(args: argparse.Namespace) -> int:
    """``inspect-input``: print what an input file holds. Returns the exit code."""
    try:
        profile = _profile(args)
        try:
            data = Path(args.input).read_bytes()
        except OSError as exc:
            raise InputError("input", f"cannot read {args.input}: {exc.strerror or exc}") from None
        if profile.codec is not Codec.ETHREX_891528D_RKYV:
            lines = _other_summary(data, profile)
            print(json.dumps({"profile": profile.name, "summary": lines}, indent=2)
                  if args.json else "\n".join(lines))
            return 0
        summary = summarize_input(data, profile)
    except InputError as exc:
        return _fail(exc)
    if args.json:
        doc = asdict(summary)
        for b in doc["blocks"]:
            b["hash"] = "0x" + b["hash"].hex()
        print(json.dumps(doc, indent=2))
    else:
        print("\n".join(summary.lines()))
    return 0


def _other_summary(data: bytes, profile: GuestProfile) -> list[str]:
    """Summary lines of a zec-reth or stateless-SSZ input (``InputError`` when it does not
    decode)."""
    head = [
        f"profile: {profile.name} ({profile.codec}, {profile.framing})",
        f"file: {len(data)} bytes",
    ]
    if profile.codec is Codec.ZEC_RETH_BINCODE:
        return head + inspect_zec_reth_input(data).lines()
    if profile.codec is Codec.STATELESS_SSZ:
        return head + decode_stateless_input(unframe(data, profile.framing)).lines()
    raise InputError("profile", f"profile {profile.name}'s codec {profile.codec} has no reader")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--profile", default=DEFAULT_PROFILE_NAME, help="guest profile (the shipped manifest)"
    )
    p.add_argument("--manifest", default=None, help="guest profile manifest (default: built in)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``build-input`` and ``inspect-input`` (each with ``func`` = its handler)."""
    b = subparsers.add_parser(
        "build-input",
        help="build the guest input file from block and witness JSON",
        description="Convert eth_getBlockByNumber(n, true) + debug_executionWitness JSON to the "
        "guest's input file for the profile's codec (ethrex ProgramInput rkyv, zec-reth bincode "
        "frames, stateless-validation SSZ), after checking the block.",
    )
    b.add_argument("--block", required=True, help="block JSON (result, JSON-RPC response, cache)")
    b.add_argument("--witness", required=True, help="witness JSON (result or JSON-RPC response)")
    b.add_argument(
        "--chain", default="mainnet", help="mainnet (the NIF's choice) | hoodi | sepolia | GENESIS"
    )
    b.add_argument("-o", "--output", required=True, help="input file to write")
    b.add_argument("--no-check", action="store_true", help="skip the pre-proving checks (ethrex)")
    b.add_argument("--allow-unconfirmed-chain", action="store_true",
                   help="zec-reth: use the hoodi/sepolia chain configuration no golden input "
                   "confirms")
    _common(b)
    b.set_defaults(func=handle_build_input)
    i = subparsers.add_parser("inspect-input", help="summarize a guest input file")
    i.add_argument("input", help="input file")
    i.add_argument("--json", action="store_true", help="print JSON")
    _common(i)
    i.set_defaults(func=handle_inspect_input)


def _main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (``python -m ethproofs_daemon.inputs.commands``)."""
    parser = argparse.ArgumentParser(prog="ethproofs-daemon-inputs")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(_main())
