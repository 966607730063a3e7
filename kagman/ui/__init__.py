"""What people see while kagman works: progress bars and warnings pointed at their own code.

::

    progress  byte and count bars on stderr, only where someone is watching
    warn      warnings.warn at the first frame outside kagman (the user's line or cell)
    interrupt the one log record saying what a Ctrl-C kept (the CLI prints it)

May import: :mod:`kagman.errors`, :mod:`kagman.settings`. Leaf of the tree: the domain
packages use it, it uses none of them.
"""
