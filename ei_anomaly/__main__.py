import os
import sys

from .cli import main

code = main()
sys.stdout.flush()
sys.stderr.flush()
# Skip interpreter teardown: freeing a million-row table and stopping numba's threads costs
# up to half a second, and every file was already closed by the command.
os._exit(code)
