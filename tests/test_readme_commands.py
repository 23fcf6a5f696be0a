"""The README's test command is CI's: one script that sets up what the tests need and runs them."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_block_after(heading: str) -> str:
    text = (ROOT / "README.md").read_text()
    return re.search(re.escape(heading) + r".*?```sh\n(.*?)```", text, flags=re.S).group(1).strip()


def test_the_readmes_test_command_is_the_script_ci_runs():
    # Given the README, When a newcomer reads how to run the tests, Then it is CI's script
    assert readme_block_after("**Run the tests**") == "bash .ci/run"


def test_the_script_is_valid_bash_that_ends_by_running_the_suite():
    # Given .ci/run, When bash parses it, Then it is valid, and its last command runs pytest
    script = ROOT / ".ci" / "run"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    last = [line for line in script.read_text().splitlines() if line and not line.startswith("#")][-1]
    assert last.endswith('.venv/bin/pytest "$@"') and "pip install -q -e '.[dev,embedded]'" in last
