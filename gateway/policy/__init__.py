"""Who may see what: the policy file, grants and pins, the declarations the graph makes,
enforcement, masking, verdicts and reload."""
