"""Who may ask, and how much: credentials and purpose become a Principal; rate limits,
the look-up gate (a spent miss budget refuses a whole operation), and the tallies every
process shares."""
