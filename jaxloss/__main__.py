import sys

from jaxloss.app.cli import main

sys.exit(main())
