"""What people see while kagman works: progress, summaries, warnings pointed at their own code.

::

    progress  one bar class: a widget in Jupyter, text on a terminal's stderr, else nothing;
              the global switch (kagman.progress(False), KAGMAN_PROGRESS=0)
    summary   the one line that stays after a download or a long index (and its log record)
    warn      warnings.warn at the first frame outside kagman (the user's line or cell);
              a message worded for Python (label_col=) and for the command line (--label-col)
    interrupt the one log record saying what a Ctrl-C kept (the CLI prints it); a Ctrl-C
              held while a finished pull commits

May import: :mod:`kagman.errors`, :mod:`kagman.settings`, :mod:`kagman.platforms` (is this
a Jupyter kernel?). Near the leaves: the domain packages use it, it uses none of them.
"""
