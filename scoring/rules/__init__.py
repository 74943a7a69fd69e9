"""Declarative rulesets compiled from a safe expression language."""
