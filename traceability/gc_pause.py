"""Work on a large batch without the cyclic garbage collector.

A batch of a thousand statements makes some hundred thousand objects that
all live until it is done; the collector would walk them again and again (a
third of the batch's CPU) to free nothing. Reference counting still frees
what dies, and the collector runs as usual once the batch is over.
"""

import contextlib
import gc


@contextlib.contextmanager
def garbage_collection_paused():
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
