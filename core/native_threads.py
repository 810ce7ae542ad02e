"""How a process's native thread pools wait, set on import, before numpy and torch load the
libraries that read these variables once, at load. ``workers`` and ``ivr`` (so every
``flask --app ivr`` command, which reads comments as a worker does) import this first. A
value already in the environment is kept.

* ``OMP_WAIT_POLICY=PASSIVE``: torch's OpenMP threads (the comment reader's MiniLM pass)
  sleep between parallel regions instead of spinning. When another process holds a core
  (the second transcriber of the Procfile, a decode, any other job) a spinning pool waits a
  whole time slice at every barrier: a long comment took 300-1,900 ms on 2 spinning threads
  against 50-140 ms passive (``scripts/reader_cost_probe.py``, README *Speed*).
* ``OPENBLAS_NUM_THREADS=1``: numpy's BLAS (the reader's small head, Whisper's mel
  filters) on one thread; its matrices are too small to share, and its idle threads
  busy-wait next to torch's.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
