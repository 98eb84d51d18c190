"""Who may ask, and how much: credentials and purpose become a Principal; rate limits, root
look-ups and their miss budgets, and the tallies every process shares."""
