"""omctl: the operators command line."""
