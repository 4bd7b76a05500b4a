"""A program for tests/test_shutdown.py: under ``stop_on_signals``, it starts a child process
(``sleep``), prints READY, and waits; on the first signal its cleanup takes 30 s (a slow
shutdown), printing CLEANUP, unless a second signal ends it at once."""

import subprocess
import sys
import time

from embedtune.shutdown import Interrupted, child_process, exit_code_for, stop_on_signals

if __name__ == "__main__":
    child = subprocess.Popen(["sleep", "300"])
    try:
        with child_process(child), stop_on_signals():
            try:
                # READY inside the try: a signal that arrives right after it still finds the
                # cleanup below (printed outside, a fast test could signal before the try).
                print(f"READY {child.pid}", flush=True)
                time.sleep(120)
            finally:
                print("CLEANUP", flush=True)
                time.sleep(30)
                child.kill()
    except Interrupted as exc:
        sys.exit(exit_code_for(exc.signal_name))
