"""mcplint's rules: one module per rule, named after its code and name."""
