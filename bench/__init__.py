"""`make bench`: the mock against Stoplight Prism under load (run.py), then the inbox watch
socket's fan-out to many idle watchers (fanout.py)."""
