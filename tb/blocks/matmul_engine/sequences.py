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


def random_insn(env, rng, *, max_rows=None, max_k=6, max_n=6, emit=None,
                releases=False, forbid=None) -> dict:
    dim, lb = env.dim, env.lb
    max_rows = max_rows or 3 * dim
    for _ in range(1000):
        kt = int(rng.integers(1, max_k + 1))
        nt = int(rng.integers(1, max_n + 1))
        rows = int(rng.integers(1, max_rows + 1))
        if nt * rows > env.acc_lines:
            continue
        transpose = int(rng.integers(2))
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
        if layout_ok(env, f, forbid):
            return f
    raise RuntimeError("could not place a random instruction")
