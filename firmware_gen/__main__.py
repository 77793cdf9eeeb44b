"""Command line of firmware_gen.

    python -m firmware_gen asm prog.s -o prog.bin     # assemble
    python -m firmware_gen dis prog.bin               # disassemble to stdout (or -o file)
    python -m firmware_gen attention --seq-len 300 --head-dim 64 --heads 2 \
        --strategy mas --config default --out build/attn   # schedule an attention layer

`attention` runs the scheduler (scheduler/: tiling search, program, cost model) on one workload
and writes into --out:

    program.bin       the program image (256-bit words, HALT last), to be loaded at prog_base
    program.s         the same program as text (`asm` turns it back into program.bin exactly),
                      each instruction annotated with what it does
    listing.txt       the program with its DRAM addresses
    memory_map.json   where Q, K, V, O (and S, P, r for layerwise) and the program live in DRAM,
                      the tensors' shapes and scales, the tiling, the quantization constants,
                      the predicted cycles, the configuration and its hardware definition's
                      hash, the program's SHA-256 and this command line: with program.bin, a
                      bundle that `make sim BUNDLE=DIR` runs as written (scheduler/bundle.py)
    schedule.json     strategy, tiling, predicted cycles (total, per queue, overlap) and every
                      tiling the search considered, with its predicted cycles or why it is illegal

Options: --seq-len-kv (default: --seq-len), --heads, --batch, --causal, the quantization scales
--s-q/--s-k/--s-v (default 1/32) and --s-o (default: --s-v), and --block-rows/--chunk-keys
(together, optionally --in-place; for mas also --score-buffers; for flat also --value-keys and
--value-buffers) to force a tiling instead of searching one. A workload that
cannot run on the configuration is reported as `error: ...` with what would fit, exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

from firmware_gen.asm import (
    AsmError,
    assemble,
    current_umask,
    disassemble,
    read_image,
    read_source,
    write_atomically,
    write_image,
)
from hwdef import ConfigError, HwConfig, config_names, isa, load_config
from scheduler import STRATEGIES, Schedule, ScheduleError, Tiling, Workload, build_schedule
from scheduler.bundle import bundle_files
from scheduler.program import check_dram
from scheduler.search import PROXY_ROWS, check_full_rows_fit, fitting_tilings, tiling_fits
from scheduler.strategies import REGISTRY
from scheduler.tiling import MAX_SCORE_BUFFERS


class UsageError(ValueError):
    """A malformed command line (argparse's complaint, made one line)."""


class OneLineParser(argparse.ArgumentParser):
    """argparse whose complaints are one line (UsageError), as every command line here."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (`{self.prog} --help` shows the usage)")


INT_OPTION_LIMIT = 1 << 63


def ascii_int(text: str) -> int:
    """An integer option: ASCII digits only (int() would also take `１２` or `٣`), within a
    64-bit range (every message can then show the value)."""
    value = isa.parse_int(text.strip())
    if value is None:
        raise argparse.ArgumentTypeError(f"{isa.quote(text)} is not an integer")
    if abs(value) >= INT_OPTION_LIMIT:
        raise argparse.ArgumentTypeError(f"{isa.quote(text)} is far too large")
    return value


def ascii_float(text: str) -> float:
    """A real option: ASCII only, as Python writes it (float() would take `１.５`)."""
    try:
        if not text.isascii():
            raise ValueError
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{isa.quote(text)} is not a number") from None


def output_path(text: str, option: str) -> Path:
    """An output path from the command line; an empty one would mean the current directory."""
    if not text.strip():
        raise UsageError(f"{option} {isa.quote(text)}: empty path (name the output file or "
                         "directory)")
    return Path(text)


def input_path(text: str, what: str) -> Path:
    if not text.strip():
        raise UsageError(f"{what} {isa.quote(text)}: empty path")
    path = Path(text)
    if path.is_dir() or not path.exists():
        raise UsageError(f"{what} {isa.quote(text)}: "
                         f"{'is a directory' if path.is_dir() else 'no such file'}")
    return path


def _cmd_asm(args) -> int:
    source = input_path(args.source, "source")
    if args.output is not None:
        out = output_path(args.output, "-o")
    elif source.suffix == ".bin":
        raise UsageError(f"source {isa.quote(args.source)} ends in .bin: the default output "
                         "would overwrite it (give -o)")
    else:
        out = source.with_suffix(".bin")
    words = assemble(read_source(source), source=args.source)
    write_image(words, out)
    print(one_line(f"{args.source}: {len(words)} instructions, "
                   f"{len(words) * isa.INSN_BYTES} bytes -> {out}"))
    return 0


def _cmd_dis(args) -> int:
    image = input_path(args.image, "image")
    out = None if args.output is None else output_path(args.output, "-o")
    text = disassemble(read_image(image), addresses=args.addresses)
    if out is not None:
        write_atomically(out, text)
    else:
        sys.stdout.write(text)
    return 0


def _schedule_dict(sched: Schedule, forced: bool) -> dict:
    p = sched.prediction
    return {
        "strategy": sched.strategy,
        "config": sched.cfg.name,
        "workload": sched.workload.to_dict(),
        "tiling": sched.tiling.to_dict(),
        "tiling_forced": forced,
        "strict": sched.strict,
        "instructions": len(sched.words),
        "program_bytes": len(sched.words) * isa.INSN_BYTES,
        "prog_base": sched.prog_base,
        "predicted_cycles": p.cycles,
        "predicted_busy": dict(p.busy),
        "predicted_overlap": p.overlap,
        "candidates_note": (
            "tilings the search considered; predicted_cycles of each is estimated on a proxy "
            f"(one head, at most {PROXY_ROWS} query rows) scaled to the workload, null when "
            "the tiling is illegal or its lower_bound (the cost model's, from its instructions "
            "without semaphores; for those, as far as their emission went) passed the best "
            "prediction (reason says which); empty when the tiling was forced"),
        "candidates": [{"tiling": c.tiling.to_dict(),
                        "predicted_cycles": None if c.cycles is None else round(c.cycles),
                        "lower_bound": None if c.bound is None else round(c.bound),
                        "chosen": c.tiling == sched.tiling,
                        "reason": c.reason}
                       for c in sched.candidates],
    }


def _program_text(sched: Schedule, command: str) -> str:
    """Assembly text of the schedule: a header, then one instruction per line with its note."""
    mm = sched.memory_map()
    lines = [f"# {sched.summary()}",
             f"# generated by: {command}",
             f"# load at DRAM {sched.prog_base:#x}; tensors (memory_map.json): "
             + ", ".join(f"{name} @ {t['addr']:#x}" for name, t in mm["tensors"].items()
                         if name != "program")]
    if sched.strict:
        lines.append("# run with CTRL.STRICT: buffers are locked and released (overwrite control)")
    return "\n".join(lines) + "\n" + sched.listing(addresses=False)


def attention_workload(cfg: HwConfig, strategy: str, **fields) -> Workload:
    """The workload of an attention command line, checked before any schedule is built:
    strategy, shapes, scales and the DRAM rule (scheduler.program.check_dram). `make sim
    SEQ=...` checks its case with this too (runner/check_sim_args.py)."""
    if strategy not in STRATEGIES:
        raise ScheduleError(f"unknown strategy {isa.quote(strategy)}; choose one of "
                            f"{', '.join(STRATEGIES)}")
    wl = Workload(**fields)
    wl.validate(cfg)
    check_dram(wl, cfg, strategy)
    check_full_rows_fit(wl, cfg, strategy)
    return wl


def write_outputs(out: Path, files: dict[str, bytes | str]) -> None:
    """Write *files* into directory *out* so that a failure leaves no partial output: into a
    temporary directory beside (or, when *out* exists, inside) it first, then renamed into
    place, the whole directory at once if it is new, file by file if it exists."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {isa.quote(str(out))}: exists and is not a directory")
    fresh = not out.exists()
    if fresh:
        out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name or 'out'}.", suffix=".tmp",
                                    dir=out.parent if fresh else out))
    try:
        for name, data in files.items():
            payload = data.encode("utf-8") if isinstance(data, str) else data
            (staging / name).write_bytes(payload)
        # mkdtemp makes the directory private (0700); the outputs get the usual permissions
        staging.chmod(0o777 & ~current_umask())
        if fresh:
            staging.rename(out)
            return
        for name in files:
            os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _cmd_attention(args) -> int:
    out = output_path(args.out, "--out")
    if (args.block_rows is None) != (args.chunk_keys is None):
        raise ScheduleError("--block-rows and --chunk-keys go together: give both to force a "
                            "tiling, or neither to search the fastest one")
    for flag, given in (("--in-place", args.in_place), ("--value-keys", args.value_keys),
                        ("--value-buffers", args.value_buffers),
                        ("--score-buffers", args.score_buffers)):
        if given and args.block_rows is None:
            raise ScheduleError(f"{flag} needs a forced tiling (--block-rows and --chunk-keys)")
    for flag, value in (("--block-rows", args.block_rows), ("--chunk-keys", args.chunk_keys),
                        ("--value-keys", args.value_keys)):
        if value is not None and value < 1:
            raise ScheduleError(f"{flag} = {value}: must be >= 1")
    if args.value_buffers not in (None, 1, 2):
        raise ScheduleError(f"--value-buffers = {args.value_buffers}: must be 1 or 2")
    if (args.value_keys or args.value_buffers) and args.strategy != "flat":
        raise ScheduleError("--value-keys and --value-buffers are for --strategy flat (its V "
                            "chunks); the other strategies use --chunk-keys for K and V")
    if args.score_buffers is not None and not 2 <= args.score_buffers <= MAX_SCORE_BUFFERS:
        raise ScheduleError(f"--score-buffers = {args.score_buffers}: must be 2 to "
                            f"{MAX_SCORE_BUFFERS}")
    pipelined = [name for name, s in REGISTRY.items() if s.tiled_score_buffers]
    if args.score_buffers is not None and args.strategy not in pipelined:
        raise ScheduleError(f"--score-buffers is for --strategy {' or '.join(pipelined)} (the S "
                            "buffers it rotates through); the other strategies have a fixed "
                            "number")
    cfg = load_config(args.config)
    wl = attention_workload(
        cfg, args.strategy, seq_q=args.seq_len,
        seq_kv=args.seq_len if args.seq_len_kv is None else args.seq_len_kv,
        head_dim=args.head_dim, heads=args.heads, batch=args.batch, causal=args.causal,
        s_q=args.s_q, s_k=args.s_k, s_v=args.s_v, s_o=args.s_o)
    tiling = None
    if args.block_rows is not None:
        tiling = Tiling(args.block_rows, args.chunk_keys, separate_x=not args.in_place,
                        value_keys=args.value_keys or 0, value_buffers=args.value_buffers or 2,
                        score_buffers=args.score_buffers or 2)
    try:
        sched = build_schedule(wl, cfg, args.strategy, tiling=tiling)
    except ScheduleError as exc:
        if tiling is not None and not tiling_fits(wl, cfg, tiling, args.strategy):
            raise ScheduleError(f"{exc}; {fitting_tilings(wl, cfg, args.strategy, tiling)}"
                                ) from None
        raise
    write_outputs(out, {
        **bundle_files(sched, args.command_line),
        "program.s": _program_text(sched, args.command_line),
        "listing.txt": sched.listing(),
        "schedule.json": json.dumps(_schedule_dict(sched, tiling is not None), indent=2) + "\n",
    })
    print(sched.summary())
    print(one_line(f"{out}/: program.bin ({len(sched.words)} instructions, "
          f"{len(sched.words) * isa.INSN_BYTES} bytes, load at DRAM {sched.prog_base:#x}"
          f"{', run with CTRL.STRICT' if sched.strict else ''}), program.s, listing.txt, "
          f"memory_map.json, schedule.json"))
    print(one_line(f"run it as written: make sim BUNDLE={out}  (or python -m runner.bundle "
                   f"{out} --backend model)"))
    return 0


def one_line(message: str) -> str:
    """*message* as one printable line: line breaks and other control characters (from a file
    name, say) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


def main(argv: list[str] | None = None) -> int:
    """The command line; every failure is one `error: ...` line on stderr and exit status 1
    (2 for a malformed command line), never a traceback."""
    try:
        return _main(argv)
    except UsageError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except (AsmError, isa.IsaError, OSError, ConfigError, ScheduleError) as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 1


def _main(argv: list[str] | None) -> int:
    parser = OneLineParser(prog="python -m firmware_gen",
                                     description="Build, assemble and disassemble NPU programs")
    sub = parser.add_subparsers(dest="command", required=True)
    p_asm = sub.add_parser("asm", help="assemble a text program into a binary image")
    p_asm.add_argument("source")
    p_asm.add_argument("-o", "--output")
    p_asm.set_defaults(func=_cmd_asm)
    p_dis = sub.add_parser("dis", help="disassemble a binary image")
    p_dis.add_argument("image")
    p_dis.add_argument("-o", "--output")
    p_dis.add_argument("--addresses", action="store_true", help="annotate byte offsets")
    p_dis.set_defaults(func=_cmd_dis)
    p_att = sub.add_parser(
        "attention", help="schedule an attention layer: program, listing and memory map",
        description="Schedule softmax(Q·Kᵀ·s)·V on the NPU and write program.bin, program.s, "
                    "listing.txt, memory_map.json and schedule.json into --out.")
    p_att.add_argument("--seq-len", type=ascii_int, required=True, help="query rows per head")
    p_att.add_argument("--seq-len-kv", type=ascii_int, help="keys per head (default: --seq-len)")
    p_att.add_argument("--head-dim", type=ascii_int, required=True, help="head dimension d")
    p_att.add_argument("--heads", type=ascii_int, default=1)
    p_att.add_argument("--batch", type=ascii_int, default=1)
    p_att.add_argument("--causal", action="store_true", help="causal mask (bottom-right aligned)")
    p_att.add_argument("--strategy", required=True, metavar="{" + ",".join(STRATEGIES) + "}")
    p_att.add_argument("--config", required=True, metavar="{" + ",".join(config_names()) + "}",
                       help="hardware configuration (hwdef/configs.toml)")
    p_att.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p_att.add_argument("--block-rows", type=ascii_int, metavar="N",
                       help="force Br, query rows per block (with --chunk-keys)")
    p_att.add_argument("--chunk-keys", type=ascii_int, metavar="N",
                       help="force Bc, keys per chunk, a multiple of the array size")
    p_att.add_argument("--in-place", action="store_true",
                       help="forced tiling: run the score steps in place (no separate X buffer)")
    p_att.add_argument("--score-buffers", type=ascii_int, metavar="N",
                       help=f"mas's forced tiling: 2 to {MAX_SCORE_BUFFERS} S buffers (default "
                            "2; each one more keeps one more chunk of max-pass scores per "
                            "block, where it fits; as many as a block has chunks: no Q·Kᵀ "
                            "recomputed)")
    p_att.add_argument("--value-keys", type=ascii_int, metavar="N",
                       help="flat's forced tiling: Bv, keys per V chunk (default: the smallest "
                            "multiple of Bc that is a multiple of the scratchpad line)")
    p_att.add_argument("--value-buffers", type=ascii_int, metavar="N",
                       help="flat's forced tiling: 1 or 2 V buffers (default 2)")
    for flag, what in (("q", "Q"), ("k", "K"), ("v", "V")):
        p_att.add_argument(f"--s-{flag}", type=ascii_float, default=1.0 / 32, metavar="X",
                           help=f"quantization scale of {what} (default 1/32)")
    p_att.add_argument("--s-o", type=ascii_float, metavar="X",
                       help="quantization scale of the output (default: --s-v)")
    p_att.set_defaults(func=_cmd_attention)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.command_line = one_line(" ".join(["python -m firmware_gen"]
                                          + [shlex.quote(a) for a in argv]))
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
