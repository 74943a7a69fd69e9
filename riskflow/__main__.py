"""`python -m riskflow` is the `riskflow` command."""

from riskflow.cli import app

app()
