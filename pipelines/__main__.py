import sys

from scratchlm.pipelines.cli import main

sys.exit(main())
