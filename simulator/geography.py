"""Cities the simulated customers live in and travel to."""

from __future__ import annotations

from typing import Final

__all__ = ["CITIES"]

# (name, latitude, longitude)
CITIES: Final = (
    ("Beijing", 39.904, 116.407),
    ("Shanghai", 31.230, 121.474),
    ("Guangzhou", 23.129, 113.264),
    ("Shenzhen", 22.543, 114.058),
    ("Chengdu", 30.573, 104.066),
    ("Hangzhou", 30.274, 120.155),
    ("Wuhan", 30.593, 114.305),
    ("Xi'an", 34.341, 108.940),
    ("Nanjing", 32.060, 118.797),
    ("Chongqing", 29.563, 106.551),
    ("Tianjin", 39.343, 117.362),
    ("Shenyang", 41.806, 123.432),
    ("Harbin", 45.803, 126.535),
    ("Kunming", 25.040, 102.712),
    ("Urumqi", 43.825, 87.617),
)
