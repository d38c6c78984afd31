import sys

from clv_warehouse.cli import main

sys.exit(main())
