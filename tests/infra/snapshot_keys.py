"""Model snapshot signing keys for tests: never the key of a real deployment."""

from __future__ import annotations

from riskflow.scoring.models.signing import SnapshotSigner

KEY_ENV = "RISKFLOW_TEST_SNAPSHOT_KEY"
KEY = "test-only-snapshot-key-0123456789abcdef"
OTHER_KEY = "another-test-snapshot-key-fedcba9876543210"
SIGNER = SnapshotSigner([KEY.encode()])
OTHER_SIGNER = SnapshotSigner([OTHER_KEY.encode()])
