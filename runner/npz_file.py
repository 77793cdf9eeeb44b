"""Arrays of a user's .npz file, read without surprises: one line naming the file and what is
wrong instead of NumPy's exceptions (a .npy given for a .npz, an empty or truncated file, a
member that is not an array, object arrays, which would need pickle)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np


class NpzError(ValueError):
    """The file cannot give the arrays; the message names it."""


def read_npz(path: str | Path, what: str) -> dict[str, np.ndarray]:
    """name -> array of the .npz at *path*; *what* names the file's role in messages."""
    name = repr(str(path))
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise NpzError(f"{what} {name}: no such file") from None
    except IsADirectoryError:
        raise NpzError(f"{what} {name}: is a directory") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise NpzError(f"{what} {name}: not a .npz file of arrays ({str(exc)[:60]})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise NpzError(f"{what} {name}: a single array (.npy); give a .npz with named arrays "
                       "(numpy.savez)")
    out = {}
    with loaded:
        for key in loaded.files:
            try:
                value = loaded[key]
            except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
                raise NpzError(f"{what} {name}: array {key!r} cannot be read "
                               f"({str(exc)[:60]})") from None
            if not isinstance(value, np.ndarray):
                raise NpzError(f"{what} {name}: member {key!r} is not an array")
            out[key] = value
    return out
