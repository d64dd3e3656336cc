"""Sources collect raw data plus provenance. A failed source is recorded, never raised past."""
