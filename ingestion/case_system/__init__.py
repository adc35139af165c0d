"""The council's complaints case system: its contract and the bundled sample extract."""
