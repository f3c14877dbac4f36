"""`python -m bench`: the registry-scale benchmark (see bench/run.py)."""

from bench.run import main

raise SystemExit(main())
