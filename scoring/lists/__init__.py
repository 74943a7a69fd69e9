"""Risk lists: deny, watch and allow entries, screened on every event."""
