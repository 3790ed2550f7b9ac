import sys

from jaxloss.cli import main

sys.exit(main())
