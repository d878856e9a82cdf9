#!/usr/bin/env python3
"""A stand-in ``cargo-zisk`` for tests. It is NOT ZisK and proves nothing.

It follows the v0.14 contract written down in ``../shared/docs/zisk.md`` (sources there:
``0xPolygonHermez/zisk@v0.14.0:cli/src/commands/{prove,execute,verify_stark}.rs``):

- ``--version`` / ``-V``: ``cargo-zisk 0.14.0 (2f791ffd0 2025-11-20T00:00:00Z)`` (§ top).
- ``prove -e ELF [-i INPUT] [-o DIR] [-a] [-u] [...]`` (§1.1): clap-like argv checks (unknown flag,
  missing ``-e``, missing value, ``-u`` with ``-l`` → exit 2 and a usage error on stderr); a missing
  input file → exit 1 with ``Error: Error executing Prove command`` / ``Input file not found at …``;
  banner lines, then ``<ts> INFO: >>> NAME`` / ``<<< NAME (Nms)`` phase lines on stdout (§1.2); with
  ``-a`` it writes ``result.json`` (``{"cycles", "id", "time"}``), ``vadcop_final_proof.bin`` and
  (v0.14 only; v0.15 writes no compressed file) ``vadcop_final_proof.compressed.bin``, prints the
  final summary block and exits 0. Without ``-a`` nothing is written (as in v0.14).
- A **helper process** (like the ASM microservices, §1.1) is forked into the same process group
  unless ``-l/--emulator`` is given. It is shut down on a normal exit and **outlives a SIGKILL or
  SIGTERM of its parent**; it ends by itself after ``STANDIN_ZISK_HELPER_LIFETIME_S`` (default 60).
- ``execute -e ELF -i INPUT [-u]`` (§2.1): ``INFO: Execution completed in <Duration>, executed
  steps: <n>``; with ``STANDIN_ZISK_GPU=1`` it refuses like a GPU build (exit 1).
- ``verify -p PROOF [-k VK]`` (§3): reads the raw or zstd file, prints ``✓ Stark proof was
  verified`` (exit 0) or ``✗ Stark proof was not verified`` (exit 1).

Differences from ZisK, on purpose: the proof is ~4 KiB of u64 words ``[68][rom_root ×4][outputs
×64][filler][checksum ×4]`` derived from hashes of the ELF and input (a checksum stands in for the
STARK); ``id`` is **BLAKE2b-256** hex of ``vadcop_final_proof.bin`` (ZisK uses blake3, not in the
standard library); the compressed file is a valid zstd frame of *raw* (stored) blocks, not level 1.
Error wording for a missing ELF is not in zisk.md and is a guess.

Switches (environment):

- ``STANDIN_ZISK_VERSION`` (e.g. ``0.16.1``; v0.17+ also print ``[STANDIN_ZISK_BUILD or cpu]``;
  ``0.15.x`` writes no compressed proof, like v0.15);
- ``STANDIN_ZISK_DELAY_S``: total run time of prove/execute (s, default 0.2);
- ``STANDIN_ZISK_FAIL=<exit code>``: fail mid-run with zisk.md §1.3's stderr for 1/101/255
  (message override ``STANDIN_ZISK_FAIL_MESSAGE``); 101 and 255 leave the helper behind;
- ``STANDIN_ZISK_CRASH=<signal name or number>``: kill itself mid-run (``SIGABRT`` after a
  ``[CUDA]`` line); the helper stays behind;
- ``STANDIN_ZISK_HANG=1``: hang mid-run, at most ``STANDIN_ZISK_HANG_MAX_S`` s (default 120);
- ``STANDIN_ZISK_NO_RESULT=1`` / ``STANDIN_ZISK_NO_PROOF=1``: exit 0 without ``result.json`` /
  proof files;
- ``STANDIN_ZISK_HELPER_PIDFILE=<path>``: the helper's pid is written there;
- ``STANDIN_ZISK_HELPER_LIFETIME_S``: the helper's own bound (s, default 60);
- ``STANDIN_ZISK_IGNORE_TERM=1``: leader and helper ignore SIGTERM (tests SIGKILL escalation);
- ``STANDIN_ZISK_GPU=1``: a GPU build, so ``execute`` is refused (exit 1).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import resource
import signal
import struct
import sys
import time
from pathlib import Path

DEFAULT_VERSION = "0.14.0"
GIT_SHA = "2f791ffd0"
BUILD_TS = "2025-11-20T00:00:00Z"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
N_PUBLICS = 68
FILLER_WORDS = 440
MAX_RAW_BLOCK = 128 * 1024

# name → (dest, takes_value); "dest" of a count flag is counted.
PROVE_FLAGS = {
    "-e": ("elf", True), "--elf": ("elf", True),
    "-i": ("input", True), "--input": ("input", True),
    "-o": ("output_dir", True), "--output-dir": ("output_dir", True),
    "-a": ("aggregation", False), "--aggregation": ("aggregation", False),
    "-f": ("final_snark", False), "--final-snark": ("final_snark", False),
    "-y": ("verify_proofs", False), "--verify-proofs": ("verify_proofs", False),
    "-u": ("unlock", False), "--unlock-mapped-memory": ("unlock", False),
    "-w": ("witness_lib", True), "--witness-lib": ("witness_lib", True),
    "-k": ("proving_key", True), "--proving-key": ("proving_key", True),
    "-l": ("emulator", False), "--emulator": ("emulator", False),
    "-s": ("asm", True), "--asm": ("asm", True),
    "-p": ("port", True), "--port": ("port", True),
    "-z": ("preallocate", False), "--preallocate": ("preallocate", False),
    "-t": ("max_streams", True), "--max-streams": ("max_streams", True),
    "-n": ("threads", True), "--number-threads-witness": ("threads", True),
    "-x": ("max_witness", True), "--max-witness-stored": ("max_witness", True),
    "-b": ("save_proofs", False), "--save-proofs": ("save_proofs", False),
    "-m": ("minimal_memory", False), "--minimal-memory": ("minimal_memory", False),
    "-j": ("shared_tables", False), "--shared-tables": ("shared_tables", False),
    "-r": ("rma", False), "--rma": ("rma", False),
    "-v": ("verbose", False), "--verbose": ("verbose", False),
}
EXECUTE_FLAGS = {
    k: v for k, v in PROVE_FLAGS.items()
    if v[0] in {"elf", "input", "witness_lib", "proving_key", "asm", "emulator", "port",
                "unlock", "verbose", "shared_tables"}
}
VERIFY_FLAGS = {
    "-p": ("proof", True), "--proof": ("proof", True),
    "-k": ("vk", True), "--vk": ("vk", True),
    "-v": ("verbose", False), "--verbose": ("verbose", False),
}
USAGE = {
    "prove": "Usage: cargo-zisk prove [OPTIONS] --elf <ELF>",
    "execute": "Usage: cargo-zisk execute [OPTIONS] --elf <ELF>",
    "verify": "Usage: cargo-zisk verify [OPTIONS] --proof <PROOF>",
    None: "Usage: cargo-zisk <COMMAND>",
}
REQUIRED = {"prove": ("elf", "--elf <ELF>"), "execute": ("elf", "--elf <ELF>"),
            "verify": ("proof", "--proof <PROOF>")}
PHASES = [
    "STARTING_ASM_MICROSERVICES", "INITIALIZING_PROOFMAN", "REGISTERING_WITNESS",
    "COMPUTE_MINIMAL_TRACE", "PLAN", "CALCULATING_CONTRIBUTIONS", "CALCULATE_GLOBAL_CHALLENGE",
    "GENERATING_PROOFS", "GENERATING_INNER_PROOFS", "GENERATE_VADCOP_FINAL_PROOF",
]


class UsageError(Exception):
    pass


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def now() -> str:
    t = datetime.datetime.now(datetime.UTC)
    return t.isoformat(timespec="microseconds").replace("+00:00", "Z")


def info(msg: str) -> None:
    print(f"{now()} INFO: {msg}", flush=True)


def err(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    sys.stderr.flush()


def usage_exit(cmd: str | None, message: str) -> None:
    err(f"error: {message}\n\n{USAGE[cmd]}\n\nFor more information, try '--help'.")
    sys.exit(2)


def parse(cmd: str, argv: list[str], flags: dict[str, tuple[str, bool]]) -> dict[str, object]:
    opts: dict[str, object] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg.startswith("--") and "=" in arg:
            arg, value = arg.split("=", 1)
            argv.insert(i, value)
        names = [arg]
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 2:
            names = [f"-{c}" for c in arg[1:]]  # -au, -vv
        for name in names:
            if name not in flags:
                shown = arg if len(names) == 1 else name
                usage_exit(cmd, f"unexpected argument '{shown}' found")
            dest, takes_value = flags[name]
            if takes_value:
                if len(names) > 1 or i >= len(argv) or argv[i].startswith("-"):
                    long = next(k for k, v in flags.items() if v[0] == dest and k.startswith("--"))
                    usage_exit(
                        cmd,
                        f"a value is required for '{long} <{dest.upper()}>' but none was supplied",
                    )
                opts[dest] = argv[i]
                i += 1
            elif dest == "verbose":
                opts[dest] = int(opts.get(dest, 0)) + 1  # type: ignore[call-overload]
            else:
                opts[dest] = True
    dest, shown = REQUIRED[cmd]
    if dest not in opts:
        usage_exit(cmd, f"the following required arguments were not provided:\n  {shown}")
    if opts.get("unlock") and opts.get("emulator"):
        usage_exit(cmd, "the argument '--unlock-mapped-memory' cannot be used with '--emulator'")
    return opts


def version_line() -> str:
    ver = env("STANDIN_ZISK_VERSION", DEFAULT_VERSION)
    parts = ver.split(".")
    tag = ""
    if len(parts) >= 2 and parts[0] == "0" and parts[1].isdigit() and int(parts[1]) >= 17:
        tag = f" [{env('STANDIN_ZISK_BUILD', 'cpu')}]"
    return f"cargo-zisk {ver}{tag} ({GIT_SHA} {BUILD_TS})"


# ------------------------------------------------------------------------------- helper process


def start_helper() -> int:
    """Fork an 'ASM service' into our process group; it outlives a SIGKILL of this process."""
    lifetime = float(env("STANDIN_ZISK_HELPER_LIFETIME_S", "60"))
    pid = os.fork()
    if pid == 0:
        try:
            if env("STANDIN_ZISK_IGNORE_TERM") == "1":
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            else:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
            deadline = time.monotonic() + lifetime
            while time.monotonic() < deadline:  # bounded
                time.sleep(0.05)
        finally:
            os._exit(0)
    pidfile = env("STANDIN_ZISK_HELPER_PIDFILE")
    if pidfile:
        tmp = Path(pidfile + ".tmp")
        tmp.write_text(str(pid))
        tmp.replace(pidfile)
    return pid


def stop_helper(pid: int | None) -> None:
    """What dropping the prover does on a normal exit: shut the services down."""
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


# ------------------------------------------------------------------------------- failure switches


FAIL_STDERR = {
    1: "Error: Error executing {cmd} command\n\nCaused by:\n    {msg}",
    101: "thread 'main' panicked at sdk/src/prover/asm.rs:212:17:\n{msg}\n"
         "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
    255: "{msg}\nCall stack:\n  0# exitProcess() at pil2-stark/src/utils/exit_process.cpp:12\n",
}
FAIL_DEFAULT_MSG = {
    1: "Not enough GPU memory to run the proof",
    101: "Timeout: service MT not ready after 60s",
    255: "Error: proof generation failed",
}


def maybe_fail(cmd: str, helper: int | None) -> None:
    """Apply STANDIN_ZISK_FAIL / CRASH / HANG at this point of the run."""
    fail = env("STANDIN_ZISK_FAIL")
    if fail:
        code = int(fail)
        default = FAIL_DEFAULT_MSG.get(code, f"stand-in failure {code}")
        msg = env("STANDIN_ZISK_FAIL_MESSAGE", default)
        err(FAIL_STDERR.get(code, "{msg}").format(cmd=cmd.capitalize(), msg=msg))
        if code in (101, 255):
            os._exit(code)  # a panic / exit(-1): the helper is not shut down
        stop_helper(helper)
        sys.exit(code)
    crash = env("STANDIN_ZISK_CRASH")
    if crash:
        sig = signal.Signals(int(crash)) if crash.isdigit() else signal.Signals[crash.upper()]
        if sig == signal.SIGABRT:
            err("[CUDA] cudaMalloc(&ptr, size) failed: out of memory (2) at "
                "pil2-stark/src/starkpil/gen_proof.cuh:88")
        sys.stdout.flush()
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file from the stand-in
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        time.sleep(5)  # bounded: the signal arrives long before
        os._exit(99)
    if env("STANDIN_ZISK_HANG") == "1":
        deadline = time.monotonic() + float(env("STANDIN_ZISK_HANG_MAX_S", "120"))
        while time.monotonic() < deadline:  # bounded hang
            time.sleep(0.05)
        err("stand-in: hang limit reached")
        os._exit(3)


# ------------------------------------------------------------------------------- proof bytes


def h(*parts: bytes) -> bytes:
    d = hashlib.blake2b(digest_size=32)
    for p in parts:
        d.update(len(p).to_bytes(8, "little"))
        d.update(p)
    return d.digest()


def words_of(seed: bytes, n: int, mask: int = 2**64 - 1) -> list[int]:
    out: list[int] = []
    block = seed
    while len(out) < n:
        block = h(block)
        out += [w & mask for w in struct.unpack("<4Q", block)]
    return out[:n]


def make_proof(elf: bytes, inp: bytes) -> bytes:
    """``[68][rom_root ×4][outputs ×64 (u32)][filler][checksum ×4]`` as u64 LE words."""
    rom_root = words_of(h(b"rom", elf), 4, 2**63)
    outputs = words_of(h(b"out", inp), 64, 2**32 - 1)
    filler = words_of(h(b"fri", elf, inp), FILLER_WORDS)
    body = struct.pack(f"<{1 + 4 + 64 + FILLER_WORDS}Q", N_PUBLICS, *rom_root, *outputs, *filler)
    return body + h(b"check", body)


def proof_ok(raw: bytes) -> bool:
    if len(raw) < 8 * 5 + 32 or len(raw) % 8:
        return False
    body, check = raw[:-32], raw[-32:]
    return struct.unpack_from("<Q", body)[0] == N_PUBLICS and h(b"check", body) == check


def zstd_stored(data: bytes) -> bytes:
    """A valid zstd frame (single segment, 4-byte content size) of raw blocks."""
    out = bytearray(ZSTD_MAGIC + bytes([0xA0]) + len(data).to_bytes(4, "little"))
    chunks = [data[i : i + MAX_RAW_BLOCK] for i in range(0, len(data), MAX_RAW_BLOCK)] or [b""]
    for n, chunk in enumerate(chunks):
        last = 1 if n == len(chunks) - 1 else 0
        out += ((len(chunk) << 3) | last).to_bytes(3, "little") + chunk
    return bytes(out)


def unzstd_stored(frame: bytes) -> bytes | None:
    """Decode what ``zstd_stored`` wrote (raw blocks only); None for anything else."""
    if frame[:4] != ZSTD_MAGIC or len(frame) < 9 or frame[4] != 0xA0:
        return None
    size, pos, out = int.from_bytes(frame[5:9], "little"), 9, bytearray()
    while pos + 3 <= len(frame):  # bounded by the frame length
        header = int.from_bytes(frame[pos : pos + 3], "little")
        pos += 3
        if (header >> 1) & 3 != 0:
            return None
        n = header >> 3
        out += frame[pos : pos + n]
        pos += n
        if header & 1:
            break
    return bytes(out) if len(out) == size else None


def cycles_of(inp: bytes) -> int:
    return 1_000_000 + 97 * len(inp) + int.from_bytes(h(b"steps", inp)[:2], "little")


# ------------------------------------------------------------------------------- commands


def phase_run(names: list[str], delay_s: float, cmd: str, helper: int | None) -> None:
    step = delay_s / max(1, len(names))
    for n, name in enumerate(names):
        info(f">>> {name}")
        if n == len(names) // 2:
            maybe_fail(cmd, helper)
        time.sleep(step)
        info(f"<<< {name} ({int(step * 1000)}ms)")


def load_inputs(cmd: str, opts: dict[str, object], helper: int | None) -> tuple[bytes, bytes]:
    elf_path = Path(str(opts["elf"]))
    if not elf_path.is_file():
        stop_helper(helper)
        err(f"Error: Error executing {cmd} command\n\nCaused by:\n"
            f"    ELF file not found at {elf_path}")
        sys.exit(1)
    inp = b""
    if "input" in opts:
        in_path = Path(str(opts["input"]))
        if not in_path.is_file():
            stop_helper(helper)
            err(f"Error: Error executing {cmd} command\n\nCaused by:\n"
                f"    Input file not found at {in_path}")
            sys.exit(1)
        inp = in_path.read_bytes()
    return elf_path.read_bytes(), inp


def cmd_prove(argv: list[str]) -> None:
    opts = parse("prove", argv, PROVE_FLAGS)
    out_dir = Path(str(opts.get("output_dir", "tmp")))
    for label, value in [
        ("Command", "Prove"), ("Elf", opts["elf"]), ("Input", opts.get("input", "None")),
        ("Witness Lib", opts.get("witness_lib", "~/.zisk/bin/libzisk_witness.so")),
        ("Proving key", opts.get("proving_key", "~/.zisk/provingKey")),
        ("Output Dir", out_dir), ("Mode", "Emulator" if opts.get("emulator") else "Asm"),
    ]:
        print(f"{label:>12} {value}", flush=True)
    helper = None if opts.get("emulator") else start_helper()
    elf, inp = load_inputs("Prove", opts, helper)
    started = time.monotonic()
    phases = PHASES + (["VERIFYING_VADCOP_FINAL_PROOF"] if opts.get("verify_proofs") else [])
    phase_run(phases, float(env("STANDIN_ZISK_DELAY_S", "0.2")), "prove", helper)
    elapsed = time.monotonic() - started
    steps = cycles_of(inp)
    if opts.get("aggregation"):
        out_dir.mkdir(parents=True, exist_ok=True)
        proof = make_proof(elf, inp)
        proof_id = hashlib.blake2b(proof, digest_size=32).hexdigest()
        compressed = zstd_stored(proof)
        if env("STANDIN_ZISK_NO_PROOF") != "1":
            (out_dir / "vadcop_final_proof.bin").write_bytes(proof)
            if not env("STANDIN_ZISK_VERSION", DEFAULT_VERSION).startswith("0.15."):
                (out_dir / "vadcop_final_proof.compressed.bin").write_bytes(compressed)
        if env("STANDIN_ZISK_NO_RESULT") != "1":
            result = {"cycles": steps, "id": proof_id, "time": elapsed}
            (out_dir / "result.json").write_text(json.dumps(result, indent=2))
        print("Vadcop final proof saved:")
        print(f"  Original: {len(proof)} bytes")
        print(f"  Compressed: {len(compressed)} bytes (ratio: {len(compressed) / len(proof):.2f}x)")
        if opts.get("verify_proofs"):
            info("··· ✓ Vadcop Final proof was verified")
        else:
            info("··· All proofs were successfully generated. Verification Skipped")
        info("--- PROVE SUMMARY ------------------------")
        info(f"      Proof ID: {proof_id}")
        info("    ► Statistics")
        info(f"      time: {elapsed:.3f} seconds, steps: {steps}")
    stop_helper(helper)
    sys.exit(0)


def cmd_execute(argv: list[str]) -> None:
    opts = parse("execute", argv, EXECUTE_FLAGS)
    if env("STANDIN_ZISK_GPU") == "1":
        err("Error: Command is not supported on GPU mode")
        sys.exit(1)
    helper = None if opts.get("emulator") else start_helper()
    _, inp = load_inputs("Execute", opts, helper)
    started = time.monotonic()
    phase_run(["STARTING_ASM_MICROSERVICES", "EXECUTE"], float(env("STANDIN_ZISK_DELAY_S", "0.2")),
              "execute", helper)
    elapsed_ms = (time.monotonic() - started) * 1000
    info(f"Execution completed in {elapsed_ms:.6f}ms, executed steps: {cycles_of(inp)}")
    stop_helper(helper)
    sys.exit(0)


def cmd_verify(argv: list[str]) -> None:
    opts = parse("verify", argv, VERIFY_FLAGS)
    started = time.monotonic()
    for key in ("proof", "vk"):
        if key in opts and not Path(str(opts[key])).is_file():
            err(f"Error: Failed to read file {opts[key]}: No such file or directory (os error 2)")
            sys.exit(1)
    data = Path(str(opts["proof"])).read_bytes()
    raw = unzstd_stored(data) if data[:4] == ZSTD_MAGIC else data
    ok = raw is not None and proof_ok(raw)
    info("✓ Stark proof was verified" if ok else "✗ Stark proof was not verified")
    info("--- VERIFICATION SUMMARY ---")
    info(f"      time: {int((time.monotonic() - started) * 1000)} milliseconds")
    sys.exit(0 if ok else 1)


def main(argv: list[str]) -> None:
    if env("STANDIN_ZISK_IGNORE_TERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if argv and argv[0] == "zisk":  # invoked as `cargo zisk ...`
        argv = argv[1:]
    if not argv:
        usage_exit(None, "'cargo-zisk' requires a subcommand but one was not provided")
    cmd, rest = argv[0], list(argv[1:])
    if cmd in ("--version", "-V"):
        print(version_line(), flush=True)
        sys.exit(0)
    handlers = {"prove": cmd_prove, "execute": cmd_execute, "verify": cmd_verify}
    if cmd not in handlers:
        usage_exit(None, f"unrecognized subcommand '{cmd}'")
    handlers[cmd](rest)


if __name__ == "__main__":
    main(sys.argv[1:])
