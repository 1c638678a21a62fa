#!/usr/bin/env python3
"""ear-render with BS.2127's importance filter, for tools/gen_adm_reference.py.

ear 2.1.0 implements the filter (`ear.core.importance.filter_by_importance`: items below the
threshold by audioObject or audioPackFormat importance removed, Objects blocks below it at gain
0) but its command line does not expose it. This runs ear-render's own driver with the filter
applied to the selected rendering items:

    /work/venv-ear/bin/python tools/ear_render_importance.py --importance N [ear-render args]
"""

import sys

from ear.cmdline import render_file
from ear.core.importance import filter_by_importance


def main():
    argv = sys.argv[1:]
    i = argv.index("--importance")
    threshold = int(argv[i + 1])
    del argv[i:i + 2]
    select = render_file.OfflineRenderDriver.get_rendering_items

    def filtered(self, adm):
        return list(filter_by_importance(select(self, adm), threshold))

    render_file.OfflineRenderDriver.get_rendering_items = filtered
    sys.argv = [sys.argv[0]] + argv
    render_file.main()


if __name__ == "__main__":
    main()
