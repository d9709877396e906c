"""A restricted unpickler for the pickles public datasets ship (VOCASET, FaceFormer, BIWI).

``pickle.load`` runs whatever callable a file names, so an untrusted ``.pkl`` can execute
code. These datasets only hold dicts, lists, strings, numbers and numpy arrays; this loader
resolves exactly the globals needed to rebuild those and refuses every other one.
Python 2 pickles (VOCASET's) are read with ``encoding="latin1"``, as numpy requires.
"""

from __future__ import annotations

import builtins
import codecs
import collections
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError

try:  # numpy >= 2 moved the pickling helpers to numpy._core
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric

_NUMPY_HELPERS = {"ndarray": np.ndarray, "dtype": np.dtype,
                  "_reconstruct": _multiarray._reconstruct, "scalar": _multiarray.scalar,
                  "_frombuffer": getattr(_numeric, "_frombuffer", None)}
_ALLOWED: dict[tuple[str, str], Any] = {}
for _module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray",
                "numpy.core.numeric", "numpy._core.numeric"):
    for _name, _value in _NUMPY_HELPERS.items():
        if _value is not None:
            _ALLOWED[(_module, _name)] = _value
for _name in ("dict", "list", "tuple", "set", "frozenset", "bytearray", "complex", "int",
              "float", "str", "bytes", "bool", "slice", "range"):
    _ALLOWED[("builtins", _name)] = _ALLOWED[("__builtin__", _name)] = getattr(builtins, _name)
_ALLOWED[("_codecs", "encode")] = codecs.encode  # how protocol-2 pickles spell bytes
_ALLOWED[("collections", "OrderedDict")] = collections.OrderedDict


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a callable outside the allowed set."""


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds numpy arrays/dtypes/scalars and plain builtins."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(
                f"refusing to load {module}.{name}: this pickle holds an object that is not a "
                "numpy array or a plain value") from None


def load_pickle(path: str | Path) -> Any:
    """Read a dataset pickle safely; any refused or corrupt content is a DatasetError."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"dataset file not found: {path}")
    with open(path, "rb") as handle:
        try:
            return RestrictedUnpickler(handle, encoding="latin1").load()
        except RefusedGlobal as error:
            raise DatasetError(f"{path}: {error}") from None
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError,
                KeyError) as error:
            raise DatasetError(f"{path} is not a readable dataset pickle: {error}") from None
