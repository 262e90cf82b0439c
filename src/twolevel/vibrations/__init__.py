"""The harmonic route (002 Sec. IV C, 004): modes, elastic moduli, nonlinear modes, soft-potential n0."""
