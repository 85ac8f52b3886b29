import os
import sys

# The commands do no linear algebra; OpenBLAS's idle threads (started when numpy is imported)
# would otherwise spin on the two cores that parsing and writing need. Read at numpy's import.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .cli import main

code = main()
sys.stdout.flush()
sys.stderr.flush()
# Skip interpreter teardown: freeing a million-row table and stopping numba's threads costs
# up to half a second, and every file was already closed by the command.
os._exit(code)
