"""Per-device state across accounts (features/entity.py): a device that many accounts log in
from, failing on some, is a fraudster's handset or emulator working through a list.

A device is an origin (features/origin.py has the state, its bounds and its windows), keyed by
the event's `device_id`; events without one go around the stage with neutral features.
"""

from __future__ import annotations

from typing import Final

from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import Features
from riskflow.features.entity import Entity
from riskflow.features.origin import Origin, OriginConfig, OriginState, origin_entity

__all__ = ["DEVICE", "DEVICE_FEATURES", "DeviceState", "device_entity", "device_key", "neutral"]


def device_key(event: Payment | Login) -> str | None:
    """The entity key: the event's device id, None when it has none."""
    return event.device_id or None


DEVICE: Final = Origin("device", device_key)
DEVICE_FEATURES: Final = DEVICE.features


def neutral() -> Features:
    """The device features of an event with no device id, or one the stage failed on."""
    return DEVICE.neutral()


class DeviceState(OriginState):
    """Everything riskflow remembers about one device, bounded in size and in event time."""

    origin = DEVICE
    __slots__ = ()


def device_entity(cfg: OriginConfig | None = None) -> Entity[DeviceState]:
    """The device entity, for `entity_stage`."""
    return origin_entity(DeviceState, cfg)
