"""Who may see what: the policy file, grants and pins, the declarations the graph makes,
enforcement, root look-ups (audited per id, budgeted), masking, verdicts and reload."""
