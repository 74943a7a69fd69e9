"""Per-IP state across accounts: the first entity stage after the account (features/entity.py).

An IP is an origin (features/origin.py has the state, its bounds and its windows): failed
logins from the IP across accounts, the accounts seen from it, failures on other accounts
than the event's, and the share of its logins that came with a device missing or new to it
(`ip_device_rotation_1h`: a stuffing run rotates devices, a household reuses its own).
"""

from __future__ import annotations

from typing import Final

from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import Features
from riskflow.features.entity import Entity
from riskflow.features.origin import Origin, OriginConfig, OriginState, origin_entity

__all__ = ["IP", "IP_FEATURES", "IPConfig", "IPState", "ip_entity", "ip_key", "neutral"]

IPConfig = OriginConfig
"""The IP stage's caps (the name it had before origins were shared)."""


def ip_key(event: Payment | Login) -> str | None:
    """The entity key: the event's IP, None when it has none."""
    return event.ip or None


IP: Final = Origin("ip", ip_key)
IP_FEATURES: Final = IP.features


def neutral() -> Features:
    """The IP features of an event with no IP, or one the stage failed on."""
    return IP.neutral()


class IPState(OriginState):
    """Everything riskflow remembers about one IP, bounded in size and in event time."""

    origin = IP
    __slots__ = ()


def ip_entity(cfg: IPConfig | None = None) -> Entity[IPState]:
    """The IP entity, for `entity_stage`."""
    return origin_entity(IPState, cfg)
