"""A contract suite for Coder's notifications API that judges any server: the mock or a real one.

    from contract_tests import Target, run
    exit_code = run(Target(base_url="https://coder.example.com", owner_token="..."))
"""

from contract_tests.suite import run
from contract_tests.target import Target

__all__ = ["Target", "run"]
