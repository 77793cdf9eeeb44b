"""Stimulus of the matrix engine bench: placement checks and random MATMUL instructions
(errors, lines and overlaps from the golden model, i.e. npu_model.semantics)."""

from __future__ import annotations


def layout_ok(env, f: dict, forbid: set[int] | None = None) -> bool:
    """The instruction runs, writes no operand line and touches no line of `forbid`."""
    f = env.model.fields(f)
    if env.model.check(f)[0]:
        return False
    a, b, d = env.model.operand_lines(f)
    if d & (a | b):
        return False
    return not (forbid and (a | b | d) & forbid)


def meets(lines: set[int], other: set[int]) -> bool:
    """Whether the line intervals [min, max] of two sets meet: the engine's read-after-write
    check compares intervals (a strided operand's interval holds lines it does not read)."""
    return bool(lines and other) and min(lines) <= max(other) and min(other) <= max(lines)


def random_insn(env, rng, *, max_rows=None, max_k=6, max_n=6, emit=None,
                releases=False, forbid=None, fixed: dict | None = None) -> dict:
    """A random instruction that runs (placed anywhere, `forbid` lines untouched); `fixed`
    sets fields instead of drawing them (rows, k_tiles, n_tiles, transpose, acc_addr,
    accumulate, ...: an accumulate chain keeps the accumulator rows of the one before)."""
    dim, lb = env.dim, env.lb
    max_rows = max_rows or 3 * dim
    fixed = fixed or {}
    for _ in range(1000):
        kt = int(fixed.get("k_tiles", rng.integers(1, max_k + 1)))
        nt = int(fixed.get("n_tiles", rng.integers(1, max_n + 1)))
        rows = int(fixed.get("rows", rng.integers(1, max_rows + 1)))
        if nt * rows > env.acc_lines:
            continue
        transpose = int(fixed.get("transpose", rng.integers(2)))
        a_w = -(-kt * dim // lb)                       # lines per A row
        bcols = (kt if transpose else nt) * dim
        b_w = -(-bcols // lb)
        d_w = -(-nt * dim * 4 // lb)
        f = dict(
            rows=rows, k_tiles=kt, n_tiles=nt, transpose=transpose,
            a_signed=int(rng.integers(2)),
            # Pitches of a region or more make operands skip regions (release sets).
            a_pitch=a_w + int(rng.choice([0, 0, 1, 3, env.region_lines])),
            b_pitch=b_w + int(rng.choice([0, 0, 1, 2, env.region_lines - 1])),
            dst_pitch=d_w + int(rng.choice([0, 0, 1])),
            acc_addr=int(rng.integers(0, env.acc_lines - nt * rows + 1)),
            emit=int(rng.random() < 0.85) if emit is None else int(emit),
            release_a=int(releases and rng.random() < 0.5),
            release_b=int(releases and rng.random() < 0.5),
        )
        f["a_addr"] = int(rng.integers(0, env.lines))
        f["b_addr"] = int(rng.integers(0, env.lines))
        f["dst_addr"] = int(rng.integers(0, env.lines))
        accs = range(f["acc_addr"], f["acc_addr"] + nt * rows)
        f["accumulate"] = int(all(env.model.acc[x] is not None for x in accs)
                              and rng.random() < 0.5)
        f.update(fixed)
        if layout_ok(env, f, forbid):
            return f
    raise RuntimeError("could not place a random instruction")


def reading_insn(env, rng, lines: set[int], role: str, **kw) -> dict:
    """A random instruction whose operand `role` ("a" or "b") reads at least one of `lines`
    (an older instruction's destination: a read after write through the scratchpad), placed
    so that the target line falls anywhere in the operand, not only on its first line."""
    targets = sorted(lines)
    for _ in range(1000):
        f = env.model.fields(random_insn(env, rng, **kw))
        target = targets[int(rng.integers(len(targets)))]
        a, b, _ = env.model.operand_lines(f)
        span = max(a if role == "a" else b) - f[f"{role}_addr"]
        f[f"{role}_addr"] = max(0, target - int(rng.integers(0, span + 1)))
        a, b, _ = env.model.operand_lines(f)
        if layout_ok(env, f) and (a if role == "a" else b) & lines:
            return f
    raise RuntimeError(f"could not place an instruction reading {role} from the given lines")
