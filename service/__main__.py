"""`python -m service` is the `civic` command."""

from service.cli import main

main()
