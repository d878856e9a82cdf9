"""CLI subcommands ``build-input`` and ``inspect-input`` (wired into the main CLI by ``register``).

``build-input --block BLOCK.json --witness WITNESS.json [--profile P]
[--chain mainnet|hoodi|sepolia|GENESIS.json] [--no-check] -o INPUT.bin``: the JSON files may hold
the bare result object, a whole JSON-RPC response, or an ethrex-replay cache.
``inspect-input INPUT.bin [--profile P] [--json]``: validating read and summary.
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

from .build import build_input, chain_config_by_name
from .errors import InputError
from .profiles import DEFAULT_PROFILE_NAME, GuestProfile, get_profile
from .summary import summarize_input


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
        data = build_input(block, witness, profile, chain, check=not args.no_check)
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
        "guest's input file (ethrex ProgramInput, rkyv), after checking block hash, "
        "transactions root and parent state root.",
    )
    b.add_argument("--block", required=True, help="block JSON (result, JSON-RPC response, cache)")
    b.add_argument("--witness", required=True, help="witness JSON (result or JSON-RPC response)")
    b.add_argument(
        "--chain", default="mainnet", help="mainnet (the NIF's choice) | hoodi | sepolia | GENESIS"
    )
    b.add_argument("-o", "--output", required=True, help="input file to write")
    b.add_argument("--no-check", action="store_true", help="skip the pre-proving checks")
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
