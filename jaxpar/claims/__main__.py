import sys

from jaxpar.claims import main

sys.exit(main())
