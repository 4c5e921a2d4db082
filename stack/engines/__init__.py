"""Engine definitions: how each Apache engine is configured, started and probed for readiness."""
