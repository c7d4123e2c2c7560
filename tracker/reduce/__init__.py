"""Acting on the figures: what-if comparisons, budgets and carbon-aware timing."""
