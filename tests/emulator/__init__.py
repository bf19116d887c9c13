"""A Mendeley API emulator for the tests, the benchmark and the demo: see README.md.

Tests use `EmulatorProcess` (a subprocess) or the `emulator` pytest fixture of tests/conftest.py.
"""

from .process import ApiSession, EmulatorClient, EmulatorProcess

__all__ = ["ApiSession", "EmulatorClient", "EmulatorProcess"]
