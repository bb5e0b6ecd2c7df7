"""`python -m contract_tests`."""

from contract_tests.cli import main

raise SystemExit(main())
