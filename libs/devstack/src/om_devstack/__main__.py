"""``python -m om_devstack up``: see :mod:`om_devstack._cli`."""

import sys

from om_devstack._cli import main

sys.exit(main())
