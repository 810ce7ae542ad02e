"""Background jobs and the processes that run them (``workers.worker``, ``workers.cron``).

The package's first import sets how the process's native thread pools wait
(``core/native_threads.py``), before anything loads numpy or torch.
"""

import core.native_threads  # noqa: F401
