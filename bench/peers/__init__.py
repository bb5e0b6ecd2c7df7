"""The servers the mock is measured against, each fed the mock's own answers at bench start."""
