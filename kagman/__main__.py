"""``python -m kagman`` runs the CLI."""

from kagman.cli import main

if __name__ == "__main__":
    main()
