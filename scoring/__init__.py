"""Rules, score and decision policy: features in, a decision with reasons out."""
