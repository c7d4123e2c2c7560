"""The energy model against measured energy: the fit (`calibrate`), the scores (`fidelity`)."""
