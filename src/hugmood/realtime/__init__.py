"""Real time: the hub that fans messages out to connected devices, and presence."""
