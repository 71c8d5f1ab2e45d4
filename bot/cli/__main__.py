"""`python -m bot.cli`."""

from bot.cli.base import main

main()
