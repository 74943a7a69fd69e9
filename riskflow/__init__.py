"""riskflow: streaming risk monitoring for a retail bank's digital channels."""

__version__ = "0.1.0"
