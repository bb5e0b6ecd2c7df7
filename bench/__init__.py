"""Side-by-side load benchmark of the mock against Stoplight Prism (`make bench`)."""
