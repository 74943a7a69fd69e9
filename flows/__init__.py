"""Dataflow wiring only: the logic lives in the packages the flows wire."""
