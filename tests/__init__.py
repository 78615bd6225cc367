"""The test suite. Test modules never import each other: what several of them share lives in
tests/utils/, and fixtures that several use in conftest.py and the plugins it loads."""

import pytest

# The helpers in tests/utils/ assert too: have pytest rewrite their asserts (values shown on
# failure) as it does the test modules'. This runs before any of them is imported.
pytest.register_assert_rewrite("tests.utils")
