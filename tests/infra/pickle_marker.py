"""A pickle whose loading runs code: it creates a marker file. Its absence after a refusal
shows nothing was unpickled."""

from __future__ import annotations

import pathlib
import pickle


class _Marker:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def marker_pickle(path: pathlib.Path) -> bytes:
    return pickle.dumps(_Marker(str(path)), protocol=pickle.HIGHEST_PROTOCOL)
