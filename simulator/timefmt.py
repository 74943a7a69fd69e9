"""Fast RFC 3339 timestamps in the bank's zone (formatting is hot in the simulator)."""

from __future__ import annotations

from datetime import datetime

from riskflow.simulator.config import BANK_ZONE

__all__ = ["Stamper"]


class Stamper:
    """Formats epoch seconds as `YYYY-MM-DDTHH:MM:SS.mmm+08:00`, caching the date part."""

    def __init__(self) -> None:
        offset = BANK_ZONE.utcoffset(None)
        assert offset is not None
        self._offset_ms = int(offset.total_seconds() * 1000)
        self._dates: dict[int, str] = {}

    def __call__(self, t: float) -> str:
        local_ms = int(t * 1000) + self._offset_ms
        day, ms = divmod(local_ms, 86_400_000)
        date = self._dates.get(day)
        if date is None:
            # `day` counts local days, so its midnight is offset back to UTC.
            midnight = day * 86400 - self._offset_ms / 1000
            date = datetime.fromtimestamp(midnight, BANK_ZONE).strftime("%Y-%m-%d")
            self._dates[day] = date
        secs, msec = divmod(ms, 1000)
        hh, rem = divmod(secs, 3600)
        mm, ss = divmod(rem, 60)
        return f"{date}T{hh:02d}:{mm:02d}:{ss:02d}.{msec:03d}+08:00"

    @staticmethod
    def local_hour(t: float) -> int:
        return int(((t + 8 * 3600) % 86400) // 3600)
